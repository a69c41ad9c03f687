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
      - Path to a kubeconfig file, or the kubeconfig itself as a dict. Falls back to
        E(K8S_AUTH_KUBECONFIG), then to the client's default (E(KUBECONFIG) or C(~/.kube/config)),
        then to the in-cluster service account when running in a pod.
    type: raw
  context:
    description:
      - Context of the kubeconfig to use. Falls back to E(K8S_AUTH_CONTEXT). Empty means the
        kubeconfig's current context.
    type: str
  host:
    description:
      - URL of the API server; with O(api_key), O(username) and O(password), or O(client_cert) and
        O(client_key), used instead of a kubeconfig. Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token. Falls back to E(K8S_AUTH_API_KEY). Never logged nor returned.
    type: str
  username:
    description:
      - User for basic authentication (with O(host) and O(password)). Falls back to E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for basic authentication. Falls back to E(K8S_AUTH_PASSWORD).
    type: str
  ca_cert:
    description:
      - CA certificate file to verify the API server with. Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate file. Falls back to E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Client certificate's key file. Falls back to E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  validate_certs:
    description:
      - Verify the API server's certificate. Falls back to E(K8S_AUTH_VERIFY_SSL).
      - Unset keeps what the kubeconfig says.
    type: bool
    aliases: [verify_ssl]
  proxy:
    description:
      - An HTTP proxy to reach the API server through. Falls back to E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Hosts to reach without the proxy (comma-separated). Falls back to E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers for the proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description: C(user:password) for the proxy. Falls back to E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description: C(user:password) sent as basic authentication. Falls back to E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description: The User-Agent sent to the proxy. Falls back to E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  persist_config:
    description:
      - Write refreshed tokens back to the kubeconfig file. Falls back to E(K8S_AUTH_PERSIST_CONFIG).
    type: bool
  impersonate_user:
    description:
      - The user to act as. Falls back to E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - The groups to act as. Falls back to E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated).
    type: list
    elements: str
  request_timeout:
    description:
      - Timeout of one API request, in seconds.
    type: float
    default: 30.0
requirements:
  - kubernetes (the official Python client)
notes:
  - Options, aliases and environment variables are kubernetes.core's, so its AWX credential type, its
    environment variables and a C(module_defaults) block written for it work unchanged. They can be set
    once with C(module_defaults) and C(group/golive.core.k8s). An empty variable (an AWX credential's
    field left empty) means the option is not set.
"""
