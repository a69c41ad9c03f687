#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_cutover
short_description: Cut DNS record sets over, and back, verified on every authoritative server
version_added: 1.0.0
description:
  - Replaces A, AAAA, CNAME or TXT record sets (several values per name) through one record-set
    API with two providers, RFC 2136 dynamic updates signed with TSIG (O(provider=rfc2136)) and
    Route53 (O(provider=route53)), in one change (one signed UPDATE, or one change batch).
  - Waits until the provider has applied it (Route53 C(INSYNC), with backoff), then asks every
    server in the zone's NS records directly, without recursion, until each answers the new
    sets, all within O(timeout). One check per record set says what each server answered.
  - Returns, and with O(ledger) writes before changing anything, the previous sets in
    RV(undo). O(state=reverted) puts them back exactly (deleting sets that did not exist),
    from O(undo) or from the release ledger's C(phase5/dns-cutover) step. Every set nobody
    changed since the release's last DNS step is reverted; a set someone else changed is left
    as it is and named, and the task then fails, unless O(overwrite=true) (put it back too) or
    O(keep_changed=true) (keep it, and succeed with a warning).
  - O(lower_ttl) first lowers the TTL of the sets about to change and waits out their old TTL,
    so resolvers follow the cutover quickly.
  - Idempotent; a refused update (bad TSIG key, wrong zone, denied) fails and changes nothing.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.dns
  - golive.core.aws
  - golive.core.k8s
  - golive.core.ledger
attributes:
  check_mode:
    support: full
    details: Reads the live sets and plans; nothing is sent to the provider.
  diff_mode:
    support: full
    details: The record sets before and after.
options:
  provider:
    description:
      - V(rfc2136) sends signed updates to O(dns_server); V(route53) calls the Route53 API.
    type: str
    required: true
    choices: [rfc2136, route53]
  records:
    description:
      - The record sets the cutover sets (O(state=present)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name, relative to the zone or fully qualified.
        type: str
        required: true
      type:
        description: Record type.
        type: str
        default: A
        choices: [A, AAAA, CNAME, TXT]
      ttl:
        description: TTL in seconds.
        type: int
        default: 300
      values:
        description: The values of the set.
        type: list
        elements: str
        required: true
      set_identifier:
        description:
          - Makes the set a weighted set (O(provider=route53) only), told apart from the other sets
            of its name and type by this identifier.
        type: str
      weight:
        description: The weight of a weighted set, 0 to 255.
        type: int
  shift:
    description:
      - One step of a gradual cutover between weighted sets (O(provider=route53)); instead of O(records).
        For each pair, O(shift.percent) of 100 goes to its C(to) set and the rest to its C(from) set.
        A role validates traffic between steps (for example 10, 50, 100); the ledger keeps the weights
        from before the first step, so O(state=reverted) puts those back.
    type: dict
    suboptions:
      percent:
        description: The share of the C(to) sets, 0 to 100.
        type: int
        required: true
      ttl:
        description: TTL of the weighted sets.
        type: int
        default: 60
      pairs:
        description:
          - Each a dict with C(name), C(type) (default C(A)), C(from) and C(to), each of these a dict with
            C(set_identifier) and C(values).
        type: list
        elements: dict
        required: true
  state:
    description:
      - V(present) cuts over to O(records); V(reverted) puts back the sets the cutover replaced.
    type: str
    default: present
    choices: [present, reverted]
  undo:
    description:
      - With O(state=reverted), the RV(undo) a cutover returned. Without it, the undo recorded in the
        ledger of O(ledger.release) is used.
    type: dict
  overwrite:
    description:
      - Change the records even though someone changed them after the cutover.
    type: bool
    default: false
  keep_changed:
    description:
      - With O(state=reverted), keep the sets someone changed after the cutover as they are now,
        revert the others, and succeed with a warning naming the kept ones.
    type: bool
    default: false
  lower_ttl:
    description:
      - Lower the TTL of the sets about to change to this many seconds first, and wait out their old TTL.
    type: int
  verify:
    description:
      - Ask every authoritative server until each answers the new sets.
    type: bool
    default: true
  nameservers:
    description:
      - Where to ask each name server of the zone's NS records, by NS name (V(address) or
        V(address:port)); unlisted ones are asked at their address and O(dns_port).
    type: dict
  hosted_zone_id:
    description:
      - With O(provider=route53), the hosted zone (default the public zone named O(dns_zone)).
    type: str
  timeout:
    description:
      - One deadline, in seconds, for the change, the provider's sync and the verification.
    type: float
    default: 300
seealso:
  - module: golive.core.slo_gate
    description: Validates traffic that follows the cutover.
  - module: golive.core.ledger
    description: Records the cutover and its revert.
  - module: community.general.nsupdate
    description: RFC 2136 updates of single records, without verification or undo.
  - module: amazon.aws.route53
    description: Route53 records, without verification or undo.
"""

EXAMPLES = r"""
- name: Move www and app to the new site, checked on every name server
  golive.core.dns_cutover:
    provider: rfc2136
    records:
      - {name: www, values: [203.0.113.20], ttl: 60}
      - {name: app, values: [203.0.113.20], ttl: 60}
    lower_ttl: 60
  register: cutover

- name: Send 10 % of www to the new site (weighted Route53 sets)
  golive.core.dns_cutover:
    provider: route53
    dns_zone: example.com
    shift:
      percent: 10
      pairs:
        - name: www
          from: {set_identifier: old, values: [203.0.113.10]}
          to: {set_identifier: new, values: [203.0.113.20]}

- name: Put them back
  golive.core.dns_cutover:
    provider: rfc2136
    state: reverted
    undo: "{{ cutover.undo }}"
"""

RETURN = r"""
changes:
  description: Each record set changed, before and after.
  returned: always
  type: list
  elements: dict
undo:
  description: The sets before and after, what O(state=reverted) needs.
  returned: always
  type: dict
left_alone:
  description: With O(state=reverted), the sets someone changed after the cutover and the revert left as they
    are (C(key), what they are C(now), what the release C(left)).
  returned: with O(state=reverted) when verifying
  type: list
  elements: dict
verified:
  description: What every authoritative server answered.
  returned: when O(verify) and not in check mode
  type: list
  elements: dict
checks:
  description: One check per record set (shared check model).
  returned: when O(verify) and not in check mode
  type: list
  elements: dict
  sample:
    - id: dns.verify
      title: Every name server answers the new records
      status: pass
      evidence:
        nameservers: 2
      checklist: null
provider_status:
  description: The provider's status of the change (Route53 C(INSYNC) and the change id).
  returned: when something changed
  type: dict
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set
  type: dict
  sample:
    release: 2026.11.3
    environment: production
    run_id: 20261205T091200-1a2b3c4d
    step: phase4/deploy
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.dns import cutover, providers, records, rfc2136
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws


def main():
    spec = dict(
        provider=dict(type="str", required=True, choices=["rfc2136", "route53"]),
        records=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), type=dict(type="str", default="A", choices=list(records.TYPES)),
            ttl=dict(type="int", default=300), values=dict(type="list", elements="str", required=True),
            set_identifier=dict(type="str"), weight=dict(type="int"))),
        shift=dict(type="dict", options=dict(
            percent=dict(type="int", required=True), ttl=dict(type="int", default=60),
            pairs=dict(type="list", elements="dict", required=True))),
        state=dict(type="str", default="present", choices=["present", "reverted"]),
        undo=dict(type="dict"), overwrite=dict(type="bool", default=False), keep_changed=dict(type="bool", default=False),
        lower_ttl=dict(type="int"),
        verify=dict(type="bool", default=True), nameservers=dict(type="dict"), hosted_zone_id=dict(type="str"),
        timeout=dict(type="float", default=300.0),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(rfc2136.argument_spec())
    spec.update(aws.argument_spec())
    spec.update(k8s.argument_spec())  # where the ledger lives
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, mutually_exclusive=[("records", "shift")])
    libs = [("dnspython", rfc2136.DNSPYTHON_IMPORT_ERROR)]
    if module.params["provider"] == "route53":
        libs.append(("boto3", aws.BOTO3_IMPORT_ERROR))
    if module.params["ledger"]:
        libs.append(("kubernetes", k8s.KUBERNETES_IMPORT_ERROR))
    base.require_libs(module, libs)
    p = module.params

    def service():
        deadline = Deadline(p["timeout"])
        if p["provider"] == "route53":
            client = aws.session_client("route53", aws.AwsSettings.from_params(p))
            provider = providers.Route53Provider(client, p["dns_zone"], p["hosted_zone_id"], classify=aws.classify)
        else:
            provider = providers.rfc2136_from_params(p, timeout=min(5.0, p["timeout"]))
        desired = [records.record_set(r["name"], r["type"], r["ttl"], r["values"], provider.zone,
                                      r["set_identifier"], r["weight"]) for r in p["records"]]
        if p["shift"]:
            desired = records.shift(p["shift"]["pairs"], p["shift"]["percent"], provider.zone, p["shift"]["ttl"])
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=deadline) if p["ledger"] else None
        return with_recorder(p["ledger"], "phase5", "dns-cutover", lambda journal: cutover.run(
            provider, p["state"], desired, p["undo"], p["overwrite"], p["lower_ttl"], p["verify"], p["nameservers"],
            p["dns_port"], deadline, module.check_mode, journal, keep_changed=p["keep_changed"]), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()
