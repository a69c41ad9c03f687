#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tls_check
short_description: Check the TLS certificates public hosts serve, against a CA, a minimum of days left and their Secrets
version_added: 1.0.0
description:
  - For each host of O(hosts), and every TLS host of the Ingresses in O(ingress_namespaces),
    connects with SNI and checks that the served chain verifies against O(tls_ca_cert), that its
    names (SANs) cover the host, that at least O(min_days) days are left, and, where the host
    has a Secret (an Ingress's C(secretName), or O(hosts[].secret)), that the served
    certificate is the one in the Secret's C(tls.crt).
  - With O(refuse_legacy), the endpoint must also refuse TLS 1.0 and TLS 1.1 and every weak cipher suite
    (static RSA key exchange, SHA-1 CBC, 3DES, RC4), each offered alone; what it accepts is named.
  - One check per host in the shared check model, with the certificate's subject, issuer,
    names, expiry, days left and SHA-256 fingerprints as evidence. Keys are never read.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.k8s
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
options:
  hosts:
    description:
      - Hosts to check.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The host name (SNI and the name the certificate must cover).
        type: str
        required: true
      port:
        description: Port (default O(port)).
        type: int
      address:
        description: Address to connect to (default O(address), else the host name).
        type: str
      secret:
        description: V(namespace/name) of a TLS Secret whose certificate must be the one served.
        type: str
  ingress_namespaces:
    description:
      - Check every TLS host of the Ingresses in these namespaces (needs the Kubernetes connection).
    type: list
    elements: str
    default: []
  address:
    description:
      - Address to connect to for Ingress hosts (default the Ingress's load balancer address, else the name).
    type: str
  port:
    description:
      - Port to connect to.
    type: int
    default: 443
  resolve:
    description:
      - Addresses to connect to, by host name (overrides the others).
    type: dict
  dns_server:
    description:
      - A DNS server to ask for the address of every host that has none (checks that follow DNS).
    type: str
  dns_port:
    description:
      - Port of O(dns_server).
    type: int
    default: 53
  tls_ca_cert:
    description:
      - CA bundle the chain must verify against (default the system's).
      - Named apart from O(ca_cert), which is the Kubernetes API server's CA (kubernetes.core's name).
    type: path
    aliases: [ca_file]
  min_days:
    description:
      - Fewest days a certificate must still be valid.
    type: int
    default: 14
  checklist:
    description:
      - The checklist item the checks give evidence for.
    type: str
    default: SSL certificates valid
  timeout:
    description:
      - Timeout of one connection, in seconds.
    type: float
    default: 10
  refuse_legacy:
    description:
      - Fail a host that accepts TLS 1.0, TLS 1.1 or a weak cipher suite (up to twelve more handshakes per host).
    type: bool
    default: true
seealso:
  - module: golive.core.http_check
    description: Requests to the same hosts.
  - module: community.crypto.get_certificate
    description: Fetches a certificate.
"""

EXAMPLES = r"""
- name: Every TLS host of the shop's Ingresses, through the load balancer, 21 days at least
  golive.core.tls_check:
    ingress_namespaces: [shop]
    min_days: 21

- name: One host, at the new site
  golive.core.tls_check:
    hosts:
      - {host: app.example.com, address: 203.0.113.10, secret: shop/web-tls}
"""

RETURN = r"""
checks:
  description: One check per host (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: tls.www.example.com
      title: www.example.com serves a valid certificate for at least 21 days
      status: pass
      evidence:
        days_left: 63
        issuer: R11
      checklist: null
hosts:
  description: The evidence of each host (subject, issuer, sans, not_after, days_left, fingerprints).
  returned: always
  type: list
  elements: dict
summary:
  description: Number of checks per status.
  returned: always
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.clock import utcnow
from ansible_collections.golive.core.plugins.module_utils.http import tls, transport
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.k8s import ingress


def main():
    spec = dict(
        hosts=dict(type="list", elements="dict", default=[], options=dict(
            host=dict(type="str", required=True), port=dict(type="int"), address=dict(type="str"),
            secret=dict(type="str", no_log=False))),
        ingress_namespaces=dict(type="list", elements="str", default=[]),
        address=dict(type="str"), port=dict(type="int", default=443), resolve=dict(type="dict"),
        dns_server=dict(type="str"), dns_port=dict(type="int", default=53),
        tls_ca_cert=dict(type="path", aliases=["ca_file"]), min_days=dict(type="int", default=14),
        checklist=dict(type="str", default=tls.CHECKLIST), timeout=dict(type="float", default=10.0),
        refuse_legacy=dict(type="bool", default=True),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    spec.update(k8s.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_one_of=[("hosts", "ingress_namespaces")])
    base.require_libs(module, [("cryptography", tls.CRYPTOGRAPHY_IMPORT_ERROR)])
    p = module.params

    def service():
        hosts = [dict((k, v) for k, v in h.items() if v is not None) for h in p["hosts"]]
        for host in hosts:
            host.setdefault("port", p["port"])
            if p["address"]:
                host.setdefault("address", p["address"])
        kube = None
        if p["ingress_namespaces"] or any(h.get("secret") for h in hosts):
            base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
            kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=max(30.0, p["timeout"] * 3))
        try:
            if p["ingress_namespaces"]:
                hosts += ingress.tls_targets(kube, p["ingress_namespaces"], p["address"], p["port"])
            resolver = transport.Resolver(dns_server=p["dns_server"], dns_port=p["dns_port"]) if p["dns_server"] \
                else None
            read_secret = (lambda ref: ingress.tls_secret(kube, ref)) if kube is not None else None
            result = tls.run(hosts, utcnow(), p["min_days"], p["tls_ca_cert"], read_secret, p["resolve"], p["timeout"],
                             p["checklist"], resolver, p["refuse_legacy"])
        finally:
            if kube is not None:
                kube.close()
        return base.finish_checks(result, p["fail_on_failed_checks"], "TLS checks")

    base.run(module, service)


if __name__ == "__main__":
    main()
