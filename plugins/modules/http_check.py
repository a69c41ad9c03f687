#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: http_check
short_description: HTTP checks with error ratio and latency statistics, JMESPath assertions and explicit resolution
version_added: 1.0.0
description:
  - Sends each request of O(requests), in order, O(count) times with at most O(concurrency) at
    once, and judges every answer by its status, JMESPath assertions on its JSON, and a body regex.
  - Returns per endpoint and overall the error ratio and the average, p50, p95, p99 and maximum
    latency, the first failures with their status and a truncated body (secret-looking JSON
    fields masked; request headers and bodies are never echoed), and one check per endpoint in
    the shared check model.
  - A request can C(save) values from its JSON answer (for example a login token) for later
    requests, which use them as C(${name}) in their URL, headers or body. Saved values are
    treated as secrets and masked in the result.
  - O(resolve) connects to a given address for a host name, and O(dns_server) asks a given DNS
    server, while SNI, certificate verification and the C(Host) header keep using the name, as
    C(curl --resolve) does; so a check can follow a DNS cutover or aim at one site.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: Requests are sent in check mode too; keep requests that change data out of check runs.
  diff_mode:
    support: none
options:
  requests:
    description:
      - The requests, sent in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the endpoint (the check id is C(http.<name>)).
        type: str
        required: true
      url:
        description: Absolute http:// or https:// URL; may use C(${name}) of saved values.
        type: str
        required: true
      method:
        description: HTTP method.
        type: str
        default: GET
      headers:
        description: Request headers; values may use C(${name}).
        type: dict
      body:
        description: Request body; a dict or list is sent as JSON.
        type: raw
      status:
        description: Accepted status codes.
        type: list
        elements: int
        default: [200]
      assertions:
        description: JMESPath expressions on the JSON answer that must all be truthy, for example V(status == 'ok').
        type: list
        elements: str
      body_regex:
        description: A regular expression the body must match.
        type: str
      header_regex:
        description:
          - Response headers that must be present, name to a regular expression their value must match
            (for example a CDN's C(Cache-Control) and C(Age)).
        type: dict
      security_headers:
        description:
          - Security headers the answer must carry. V(hsts) is C(Strict-Transport-Security) holding for 180 days
            at least (C(max-age) of 15552000 s or more), V(content_type_options) is C(X-Content-Type-Options)
            C(nosniff), V(csp) is a C(Content-Security-Policy). A missing one is named.
        type: list
        elements: str
        default: []
        choices: [hsts, content_type_options, csp]
      sha256:
        description: The SHA-256 (hex) the body must have, for example a static asset's as built.
        type: str
      save:
        description: Values to keep from the first good answer, name to JMESPath expression.
        type: dict
      count:
        description: How many times to send it (default O(count)).
        type: int
      concurrency:
        description: How many at once (default O(concurrency)).
        type: int
      max_error_ratio:
        description: Error ratio above which the check fails (default O(max_error_ratio)).
        type: float
      max_p95_ms:
        description: p95 latency above which the check fails, in milliseconds.
        type: float
      checklist:
        description: The checklist item (or a list of items) the check gives evidence for (default O(checklist)).
        type: raw
  secrets:
    description:
      - Secret values, by name, that requests use as C(${name}) in their URL, headers or body (a
        password, an API key). Unlike values written into O(requests), they never appear in the
        task's arguments as logged, and they are masked in the result.
    type: dict
  count:
    description:
      - How many times each request is sent.
    type: int
    default: 1
  concurrency:
    description:
      - How many sends of one request run at once.
    type: int
    default: 4
  max_error_ratio:
    description:
      - Largest acceptable ratio of failed answers per endpoint.
    type: float
    default: 0.0
  resolve:
    description:
      - Addresses to connect to, by host name.
      - With O(dns_server), a value may be another name, asked of that server - the request for the
        host is sent where DNS sends that name (a region's own name for the global one), with the
        host's name in the request and its TLS.
    type: dict
  dns_server:
    description:
      - A DNS server to ask for the A record of every host not in O(resolve).
    type: str
  dns_port:
    description:
      - Port of O(dns_server).
    type: int
    default: 53
  ca_cert:
    description:
      - CA bundle to verify HTTPS servers with (default the system's).
    type: path
    aliases: [ca_file]
  validate_certs:
    description:
      - Verify HTTPS certificates and host names.
    type: bool
    default: true
  request_timeout:
    description:
      - Timeout of one request, in seconds.
    type: float
    default: 10
  timeout:
    description:
      - One deadline, in seconds, for the whole task.
    type: float
    default: 120
  checklist:
    description:
      - The checklist item the checks give evidence for, unless a request names its own; a list
        when they give evidence for several items. Without it, a check quotes no item and the
        report lists it under other checks.
    type: raw
seealso:
  - module: golive.core.slo_gate
    description: Objectives over repeated traffic.
  - module: golive.core.tls_check
    description: Certificates of the same hosts.
  - module: ansible.builtin.uri
    description: One request, without statistics or resolution control.
"""

EXAMPLES = r"""
- name: Health endpoints through the new site, 50 times each
  golive.core.http_check:
    requests:
      - {name: healthz, url: "https://app.example.com/healthz", checklist: Test health endpoints}
      - name: version
        url: https://app.example.com/version
        assertions: ["version == '2026.11.3'"]
    count: 50
    concurrency: 10
    resolve: {app.example.com: 203.0.113.10}

- name: Smoke test - register, log in, create an incident
  golive.core.http_check:
    requests:
      - {name: register, method: POST, url: "https://app.example.com/api/users", status: [201, 409],
         body: {email: smoke@example.com, password: "${password}"}}
      - {name: login, method: POST, url: "https://app.example.com/api/login",
         body: {email: smoke@example.com, password: "${password}"}, save: {token: token}}
      - {name: create-incident, method: POST, url: "https://app.example.com/api/incidents", status: [201],
         headers: {Authorization: "Bearer ${token}"}, body: {title: smoke}, assertions: ["id > `0`"]}
    secrets:
      password: "{{ smoke_password }}"
"""

RETURN = r"""
endpoints:
  description: Per request, its statistics (requests, errors, error_ratio, latency_ms avg/p50/p95/p99/max),
    the address connected to, whether it passed, and up to 3 failures.
  returned: always
  type: list
  elements: dict
overall:
  description: Statistics over every request sent.
  returned: always
  type: dict
checks:
  description: One check per endpoint (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: http.version
      title: GET https://www.example.com/version answers as expected
      status: pass
      evidence:
        requests: 10
        errors: 0
        error_ratio: 0.0
        latency_ms:
          p95: 41.0
      checklist: null
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
saved:
  description: Names of the values saved from answers (never their values).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.http import probe, transport


def main():
    request = dict(
        name=dict(type="str", required=True), url=dict(type="str", required=True),
        method=dict(type="str", default="GET"), headers=dict(type="dict"), body=dict(type="raw"),
        status=dict(type="list", elements="int", default=[200]), assertions=dict(type="list", elements="str"),
        body_regex=dict(type="str"), header_regex=dict(type="dict"), sha256=dict(type="str"), save=dict(type="dict"),
        security_headers=dict(type="list", elements="str", default=[], choices=["hsts", "content_type_options", "csp"]),
        count=dict(type="int"), concurrency=dict(type="int"),
        max_error_ratio=dict(type="float"), max_p95_ms=dict(type="float"), checklist=dict(type="raw"),
    )
    spec = dict(
        requests=dict(type="list", elements="dict", required=True, options=request),
        count=dict(type="int", default=1), concurrency=dict(type="int", default=4),
        max_error_ratio=dict(type="float", default=0.0),
        resolve=dict(type="dict"), dns_server=dict(type="str"), dns_port=dict(type="int", default=53),
        ca_cert=dict(type="path", aliases=["ca_file"]), validate_certs=dict(type="bool", default=True),
        request_timeout=dict(type="float", default=10.0), timeout=dict(type="float", default=120.0),
        checklist=dict(type="raw"),
        secrets=dict(type="dict", no_log=True),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("jmespath", probe.JMESPATH_IMPORT_ERROR)])
    p = module.params

    def service():
        resolver = transport.Resolver(p["resolve"], p["dns_server"], p["dns_port"])
        result = probe.timed_run(p["requests"], resolver, transport.tls_context(p["ca_cert"], p["validate_certs"]),
                                 Deadline(p["timeout"]), p["count"], p["concurrency"], p["request_timeout"],
                                 p["max_error_ratio"], p["checklist"], p["secrets"])
        module.no_log_values.update(result.pop("secrets"))
        return base.finish_checks(result, p["fail_on_failed_checks"], "endpoints")

    base.run(module, service)


if __name__ == "__main__":
    main()
