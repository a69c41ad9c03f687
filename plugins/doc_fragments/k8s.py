# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file. Falls back to E(K8S_AUTH_KUBECONFIG), then to the
        client's default (E(KUBECONFIG) or C(~/.kube/config)), then to the in-cluster
        service account when running in a pod.
    type: path
  context:
    description:
      - Context of the kubeconfig to use. Falls back to E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the API server; with O(api_key), used instead of a kubeconfig.
        Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token. Falls back to E(K8S_AUTH_API_KEY). Never logged nor returned.
    type: str
  ca_cert:
    description:
      - CA certificate file to verify the API server with. Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Verify the API server's certificate. Falls back to E(K8S_AUTH_VERIFY_SSL).
      - Unset keeps what the kubeconfig says.
    type: bool
    aliases: [verify_ssl]
  request_timeout:
    description:
      - Timeout of one API request, in seconds.
    type: float
    default: 30.0
requirements:
  - kubernetes (the official Python client)
notes:
  - Options and environment variables follow C(kubernetes.core), so its AWX credential type works
    unchanged. They can be set once with C(module_defaults) and C(group/golive.core.k8s).
"""
