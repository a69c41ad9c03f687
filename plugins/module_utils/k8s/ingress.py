# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cluster says about the sites it serves over TLS: the Ingresses' TLS hosts and
the certificates in their Secrets (``tls_check`` compares them with what is served)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.golive.core.plugins.module_utils.common.errors import NotFound
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path


def tls_targets(kube, namespaces, address=None, port=443):
    """Every TLS host of the Ingresses in ``namespaces``, with its Secret. A namespace that
    does not exist is an error (a typo would otherwise check nothing and pass)."""
    missing = [n for n in namespaces if kube.get(resource_path("v1", "namespaces", None, n), missing_ok=True) is None]
    if missing:
        raise NotFound("find", "the Ingresses to check", "namespace %s does not exist" % ", ".join(missing),
                       fix="Check ingress_namespaces")
    targets = []
    for namespace in namespaces:
        for ing in kube.list(resource_path("networking.k8s.io/v1", "ingresses", namespace)):
            lb = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            lb_address = next((x.get("ip") or x.get("hostname") for x in lb if x.get("ip") or x.get("hostname")), None)
            for tls in (ing.get("spec") or {}).get("tls") or []:
                for host in tls.get("hosts") or []:
                    targets.append({"host": host, "port": port, "address": address, "lb_address": lb_address,
                                    "secret": "%s/%s" % (namespace, tls["secretName"]) if tls.get("secretName")
                                    else None, "ingress": "%s/%s" % (namespace, ing["metadata"]["name"])})
    return targets


def tls_secret(kube, ref):
    """``(pem_text, problem)``: the ``tls.crt`` of Secret ``namespace/name``."""
    namespace, name = ref.partition("/")[::2]
    secret = kube.get(resource_path("v1", "secrets", namespace, name), missing_ok=True)
    if secret is None:
        return None, "Secret %s does not exist" % ref
    pem = (secret.get("data") or {}).get("tls.crt")
    if not pem:
        return None, "Secret %s has no tls.crt" % ref
    try:
        return base64.b64decode(pem).decode("ascii", "replace"), None
    except (ValueError, TypeError) as exc:
        return None, "Secret %s: tls.crt is not PEM (%s)" % (ref, exc)
