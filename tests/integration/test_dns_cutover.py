"""dns_cutover against the lab's two BIND servers and moto's Route53: a cutover both servers
serve, a revert that puts the records back exactly, idempotent re-runs, a revert refused
after a change by hand, a refused update that changes nothing, and no TSIG secret or AWS
key in any output (-vvv) or in the ledger."""

import json
import time
import uuid

import dns.query
import dns.tsigkeyring
import dns.update
import pytest

from helpers import answers, by_hand, put_back, read_ledger, recap, run_playbook

from lab.services.moto import lab_client

# Each test cuts over names of its own (not www and app, which the go-live tests move), so this
# module runs beside the pager's tests, one test at a time.
pytestmark = pytest.mark.xdist_group("dns")


class Names:
    def __init__(self, w, a):
        self.w, self.a = w, a


@pytest.fixture
def names(lab):
    """Two A records of this test's own, at the router's old site on both BIND servers and
    in moto's Route53 zone, removed afterwards."""
    token = uuid.uuid4().hex[:6]
    pair = Names("w-%s" % token, "a-%s" % token)
    old = lab["app"]["sites"]["old"]
    r53, zone_id, zone = lab_client(lab, "route53"), lab["route53"]["zone_id"], lab["route53"]["zone"]
    for name in (pair.w, pair.a):
        by_hand(lab, name, old)
        r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "%s.%s" % (name, zone), "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": old}]}}]})
    wait_for(lambda: all(answers(lab, n) == dict((ns, [old]) for ns in lab["dns"]["nameservers"])
                         for n in (pair.w, pair.a)))
    yield pair
    for name in (pair.w, pair.a):
        put_back(lab, name, None)
        for record in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
            if record["Name"] == "%s.%s" % (name, zone):
                r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                    {"Action": "DELETE", "ResourceRecordSet": record}]})


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for both name servers"
        time.sleep(0.1)


def play(tmp_path, tasks, *args, environment=None):
    path = tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
    path.write_text(json.dumps([{
        "name": "DNS", "hosts": "golive", "gather_facts": False,
        "module_defaults": {"group/golive.core.dns": "{{ golive_dns }}", "group/golive.core.s3": "{{ golive_s3 }}",
                            "group/golive.core.k8s": "{{ golive_k8s }}"},
        "tasks": tasks}]))
    return run_playbook(str(path), "-vvv", *args, environment=environment)


def cutover(names, provider, site, state="present", **extra):
    args = {"provider": provider, "state": state, "timeout": 60,
            "nameservers": "{{ golive_lab.dns.nameservers }}"}
    if state == "present":
        args["records"] = [{"name": names.w, "values": ["{{ golive_lab.app.sites.%s }}" % site], "ttl": 60},
                           {"name": names.a, "values": ["{{ golive_lab.app.sites.%s }}" % site], "ttl": 60}]
    args.update(extra)
    return args


def secrets(lab):
    return [lab["dns"]["tsig_secret"], lab["route53"]["secret_key"] if lab["route53"]["secret_key"] != "testing"
            else None]


def test_rfc2136_cutover_is_served_by_both_servers_then_reverted_exactly(lab, tmp_path, names):
    old, new = lab["app"]["sites"]["old"], lab["app"]["sites"]["new"]
    assert answers(lab, names.w) == {ns: [old] for ns in lab["dns"]["nameservers"]}
    release, environment = "R-%s" % uuid.uuid4().hex[:6], "itest-%s" % uuid.uuid4().hex[:6]
    ledger = {"release": release, "environment": environment, "run_id": "{{ run.run_id }}"}
    tasks = [
        {"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                "environment": environment}, "register": "run"},
        {"name": "Cut over", "golive.core.dns_cutover": cutover(names, "rfc2136", "new", ledger=ledger), "register": "cut"},
        {"name": "Again", "golive.core.dns_cutover": cutover(names, "rfc2136", "new", ledger=ledger), "register": "again"},
        {"name": "Show", "ansible.builtin.copy": {"content": "{{ {'cut': cut, 'again': again} | to_json }}",
                                                  "dest": str(tmp_path / "cut.json"), "mode": "0600"}},
        {"name": "Close", "golive.core.ledger": {"operation": "close", "release": release,
                                                 "environment": environment, "run_id": "{{ run.run_id }}"}},
    ]
    try:
        proc = play(tmp_path, tasks, environment=environment)
        assert proc.returncode == 0, proc.stdout[-4000:]
        result = json.loads((tmp_path / "cut.json").read_text())
        assert result["cut"]["changed"] is True and result["again"]["changed"] is False
        assert answers(lab, names.w) == answers(lab, names.a) == {ns: [new] for ns in lab["dns"]["nameservers"]}
        assert [c["status"] for c in result["cut"]["checks"]] == ["pass", "pass"]
        assert len(result["cut"]["verified"]) == 2
        record = read_ledger(lab, environment, release)
        step = record["steps"][0]
        assert step["id"] == "phase5/dns-cutover" and step["status"] == "done"
        assert step["intent"]["undo"]["before"]["%s.lab.example. A" % names.w]["values"] == [old]
        for secret in filter(None, secrets(lab)):
            assert secret not in proc.stdout + proc.stderr + json.dumps(record)

        # The revert takes its undo from the ledger, and a second revert changes nothing.
        revert = [{"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                          "environment": environment}, "register": "run"},
                  {"name": "Revert", "golive.core.dns_cutover": cutover(names, "rfc2136", None, "reverted", ledger=dict(
                      ledger, step="dns-revert"))},
                  {"name": "Revert again", "golive.core.dns_cutover": cutover(names, "rfc2136", None, "reverted", ledger=dict(
                      ledger, step="dns-revert"))},
                  {"name": "Close", "golive.core.ledger": {"operation": "close", "release": release,
                                                           "environment": environment, "run_id": "{{ run.run_id }}"}}]
        proc = play(tmp_path, revert, environment=environment)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert recap(proc.stdout)["changed"] == 1
        assert answers(lab, names.w) == answers(lab, names.a) == {ns: [old] for ns in lab["dns"]["nameservers"]}
        assert lab["dns"]["tsig_secret"] not in proc.stdout + proc.stderr
    finally:
        by_hand(lab, names.w, old)
        by_hand(lab, names.a, old)


def test_a_revert_puts_back_what_nobody_changed_and_leaves_a_record_changed_by_hand_naming_it(
        lab, tmp_path, names):
    """Someone moves www after the cutover: the revert puts app back, leaves www as it is,
    and fails naming www, what it is and what the release left, and both ways on; keep_changed
    then succeeds with www kept, and overwrite puts www back too."""
    old, new = lab["app"]["sites"]["old"], lab["app"]["sites"]["new"]
    tasks = [{"name": "Cut over", "golive.core.dns_cutover": cutover(names, "rfc2136", "new"), "register": "cut"},
             {"name": "Keep", "ansible.builtin.copy": {"content": "{{ cut.undo | to_json }}",
                                                       "dest": str(tmp_path / "undo.json"), "mode": "0600"}}]
    everywhere = lab["dns"]["nameservers"]
    try:
        assert play(tmp_path, tasks).returncode == 0
        undo = json.loads((tmp_path / "undo.json").read_text())
        by_hand(lab, names.w, "10.9.9.9")
        partial = play(tmp_path, [{"name": "Revert", "golive.core.dns_cutover": cutover(
            names, "rfc2136", None, "reverted", undo=undo)}])
        out = partial.stdout + partial.stderr
        assert partial.returncode != 0
        assert "reverted {a}.lab.example. A; left {w}.lab.example. A, which someone changed after the cutover " \
               "({w}.lab.example. A is 10.9.9.9 (ttl 60), the release left {new} (ttl 60))".format(
                   a=names.a, w=names.w, new=new) in out, out[-3000:]
        assert "overwrite=true" in out and "keep_changed=true" in out and "Traceback" not in out
        assert answers(lab, names.w) == {ns: ["10.9.9.9"] for ns in everywhere}  # left as it was
        assert answers(lab, names.a) == {ns: [old] for ns in everywhere}  # reverted
        kept = play(tmp_path, [{"name": "Revert", "golive.core.dns_cutover": cutover(
            names, "rfc2136", None, "reverted", undo=undo, keep_changed=True)}])
        assert kept.returncode == 0, kept.stdout[-3000:]
        assert "Kept as they are now" in kept.stdout + kept.stderr
        assert answers(lab, names.w) == {ns: ["10.9.9.9"] for ns in everywhere}
        forced = play(tmp_path, [{"name": "Revert", "golive.core.dns_cutover": cutover(
            names, "rfc2136", None, "reverted", undo=undo, overwrite=True)}])
        assert forced.returncode == 0, forced.stdout[-3000:]
        assert answers(lab, names.w) == answers(lab, names.a) == {ns: [old] for ns in everywhere}
    finally:
        by_hand(lab, names.w, old)
        by_hand(lab, names.a, old)


def test_a_wrong_tsig_key_fails_clearly_and_changes_nothing(lab, tmp_path, names):
    wrong = "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE="
    proc = play(tmp_path, [{"name": "Cut over", "golive.core.dns_cutover": cutover(
        names, "rfc2136", "new", tsig_key_secret=wrong)}])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Check the TSIG key name, secret and algorithm" in out or "REFUSED" in out or "NOTAUTH" in out, out[-3000:]
    assert "Traceback" not in out and wrong not in out
    assert answers(lab, names.w) == {ns: [lab["app"]["sites"]["old"]] for ns in lab["dns"]["nameservers"]}


def test_route53_cutover_and_a_revert_leave_the_zone_exactly_as_it_was(lab, tmp_path, names):
    r53 = lab_client(lab, "route53")
    zone_id = lab["route53"]["zone_id"]

    fresh = "new-%s" % uuid.uuid4().hex[:6]
    mine = set("%s.%s" % (n, lab["route53"]["zone"]) for n in (names.w, names.a, fresh))

    def zone_sets():  # the record sets of this test's names (other tests change others meanwhile)
        return sorted(json.dumps(s, sort_keys=True) for s in
                      r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if s["Name"] in mine)

    before = zone_sets()
    # moto takes any key: distinctive ones show that no AWS key reaches any output (-vvv).
    access, secret = "AKIA%s" % uuid.uuid4().hex[:16].upper(), "canary-%s" % uuid.uuid4().hex
    extra = {"dns_zone": "{{ golive_lab.route53.zone }}", "verify": False, "aws_access_key": access,
             "aws_secret_key": secret}
    args = cutover(names, "route53", "new", **extra)
    args["records"].append({"name": fresh, "type": "CNAME", "values": [names.a], "ttl": 30})
    tasks = [{"name": "Cut over", "golive.core.dns_cutover": args, "register": "cut"},
             {"name": "Again", "golive.core.dns_cutover": args, "register": "again"},
             {"name": "Keep", "ansible.builtin.copy": {"content": "{{ {'cut': cut, 'again': again} | to_json }}",
                                                       "dest": str(tmp_path / "r53.json"), "mode": "0600"}}]
    first = proc = play(tmp_path, tasks)
    assert proc.returncode == 0, proc.stdout[-4000:]
    result = json.loads((tmp_path / "r53.json").read_text())
    assert result["cut"]["changed"] is True and result["again"]["changed"] is False
    assert result["cut"]["provider_status"]["status"] == "INSYNC"
    live = dict((s["Name"] + " " + s["Type"], s) for s in
                r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"])
    assert live["%s.lab.example. A" % names.w]["ResourceRecords"] == [{"Value": lab["app"]["sites"]["new"]}]
    assert live["%s.lab.example. CNAME" % fresh]["ResourceRecords"] == [{"Value": "%s.lab.example." % names.a}]
    revert = dict(extra, provider="route53", state="reverted", undo=result["cut"]["undo"])
    proc = play(tmp_path, [{"name": "Revert", "golive.core.dns_cutover": revert}])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert zone_sets() == before
    for output in (first, proc):
        text = output.stdout + output.stderr
        assert access not in text and secret not in text and lab["dns"]["tsig_secret"] not in text


def test_check_mode_plans_with_a_diff_and_lower_ttl_waits_out_the_old_one(lab, tmp_path, names):
    old, new = lab["app"]["sites"]["old"], lab["app"]["sites"]["new"]
    tasks = [{"name": "Plan", "golive.core.dns_cutover": cutover(names, "rfc2136", "new"), "register": "planned",
              "check_mode": True, "diff": True},
             {"name": "Keep", "ansible.builtin.copy": {"content": "{{ planned | to_json }}",
                                                       "dest": str(tmp_path / "plan.json"), "mode": "0600"}}]
    proc = play(tmp_path, tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    planned = json.loads((tmp_path / "plan.json").read_text())
    assert planned["changed"] is True and "verified" not in planned
    assert "%s.lab.example. A %s (ttl 60)" % (names.w, old) in planned["diff"]["before"]
    assert "%s.lab.example. A %s (ttl 60)" % (names.w, new) in planned["diff"]["after"]
    assert answers(lab, names.w) == {ns: [old] for ns in lab["dns"]["nameservers"]}

    # A short old TTL, lowered to 1 s first and waited out, then the cutover with its own TTL.
    eps = lab["dns"]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    update = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.replace(names.w, 3, "A", old)
    assert dns.query.tcp(update, eps["server"], port=eps["port"], timeout=10).rcode() == 0
    args = cutover(names, "rfc2136", "new", lower_ttl=1)
    args["records"] = args["records"][:1]
    tasks = [{"name": "Cut over", "golive.core.dns_cutover": args, "register": "cut"},
             {"name": "Keep", "ansible.builtin.copy": {"content": "{{ cut | to_json }}",
                                                       "dest": str(tmp_path / "cut.json"), "mode": "0600"}}]
    proc = play(tmp_path, tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    cut = json.loads((tmp_path / "cut.json").read_text())
    assert cut["ttl_lowered"] == {"to": 1, "waited": 3}
    assert cut["changes"][0]["after"]["ttl"] == 60 and answers(lab, names.w) == {ns: [new] for ns in eps["nameservers"]}


@pytest.mark.parametrize("case", ["denied by policy", "wrong zone", "weighted"])
def test_a_refused_update_fails_clearly_and_changes_nothing(lab, tmp_path, names, case):
    """The zone's update policy lets the ACME key change only its TXT record; a zone the server
    does not serve; weights, which RFC 2136 does not have."""
    args, expected = cutover(names, "rfc2136", "new"), None
    if case == "denied by policy":
        args.update(tsig_key_name=lab["dns"]["acme_key_name"], tsig_key_secret=lab["dns"]["acme_secret"])
        expected = "REFUSED"
    elif case == "wrong zone":
        args.update(dns_zone="elsewhere.example.")
        expected = "the server does not serve this zone"
    else:
        args.pop("records")
        args["shift"] = {"percent": 10, "pairs": [{"name": names.w, "from": {"set_identifier": "old", "values": ["1.2.3.4"]},
                                                   "to": {"set_identifier": "new", "values": ["1.2.3.5"]}}]}
        expected = "RFC 2136 has no weighted records"
    proc = play(tmp_path, [{"name": "Cut over", "golive.core.dns_cutover": args}])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expected in out, out[-3000:]
    assert "Traceback" not in out and lab["dns"]["acme_secret"] not in out and lab["dns"]["tsig_secret"] not in out
    assert answers(lab, names.w) == answers(lab, names.a) == {
        ns: [lab["app"]["sites"]["old"]] for ns in lab["dns"]["nameservers"]}


def test_a_gradual_weighted_shift_on_route53_reverts_from_the_ledger_to_the_zone_as_it_was(lab, tmp_path):
    """10 %, 50 %, 100 % to the new site's weighted set, each step recorded in one ledger step;
    a revert from the ledger leaves the zone's record sets identical to before the first step."""
    r53, zone_id = lab_client(lab, "route53"), lab["route53"]["zone_id"]
    name = "shop-%s.%s" % (uuid.uuid4().hex[:6], lab["route53"]["zone"].rstrip(".") + ".")
    old, new = lab["app"]["sites"]["old"], lab["app"]["sites"]["new"]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": name, "Type": "A", "TTL": 60, "SetIdentifier": "old", "Weight": 100,
        "ResourceRecords": [{"Value": old}]}}]})

    def zone_sets():  # this test's name (other tests change other names meanwhile)
        return sorted(json.dumps(s, sort_keys=True) for s in
                      r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if s["Name"] == name)

    def weights():
        return dict((s["SetIdentifier"], s["Weight"]) for s in
                    r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
                    if s["Name"] == name and "SetIdentifier" in s)

    before = zone_sets()
    release, environment = "R-%s" % uuid.uuid4().hex[:6], "itest-%s" % uuid.uuid4().hex[:6]
    ledger = {"release": release, "environment": environment, "run_id": "{{ run.run_id }}"}
    base = {"provider": "route53", "dns_zone": "{{ golive_lab.route53.zone }}", "timeout": 60, "ledger": ledger}
    pair = {"name": name, "from": {"set_identifier": "old", "values": [old]},
            "to": {"set_identifier": "new", "values": [new]}}
    seen = {}
    try:
        for step, percent in enumerate([10, 50, 100, 100]):
            tasks = [{"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                             "environment": environment}, "register": "run"},
                     {"name": "Shift", "golive.core.dns_cutover": dict(base, shift={"percent": percent, "pairs": [pair]}),
                      "register": "shifted"},
                     {"name": "Keep", "ansible.builtin.copy": {"content": "{{ shifted | to_json }}",
                                                               "dest": str(tmp_path / "s.json"), "mode": "0600"}},
                     {"name": "Close", "golive.core.ledger": {"operation": "close", "release": release,
                                                              "environment": environment, "run_id": "{{ run.run_id }}"}}]
            proc = play(tmp_path, tasks)
            assert proc.returncode == 0, proc.stdout[-4000:]
            shifted = json.loads((tmp_path / "s.json").read_text())
            assert shifted["changed"] is (step < 3)
            assert all(c["status"] == "pass" for c in shifted["checks"]) and len(shifted["checks"]) == 2
            seen[step] = weights()
        assert seen[0] == {"old": 90, "new": 10} and seen[1] == {"old": 50, "new": 50}
        assert seen[2] == seen[3] == {"old": 0, "new": 100}
        record = read_ledger(lab, environment, release)
        step = [s for s in record["steps"] if s["id"] == "phase5/dns-cutover"][0]
        assert step["intent"]["before"] == {"%s A old" % name: {"name": name, "type": "A", "ttl": 60, "values": [old],
                                                                "set_identifier": "old", "weight": 100},
                                            "%s A new" % name: None}
        revert = [{"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                          "environment": environment}, "register": "run"},
                  {"name": "Revert", "golive.core.dns_cutover": dict(base, state="reverted")},
                  {"name": "Close", "golive.core.ledger": {"operation": "close", "release": release,
                                                           "environment": environment, "run_id": "{{ run.run_id }}"}}]
        proc = play(tmp_path, revert)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert zone_sets() == before and weights() == {"old": 100}
    finally:
        for s in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
            if s["Name"] == name:
                r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                    {"Action": "DELETE", "ResourceRecordSet": s}]})


def test_each_region_cuts_over_and_reverts_only_its_own_route53_set(lab, tmp_path):
    """Several clusters on Route53: one name with a weighted set per region (its set
    identifier). A region's cutover, recorded as its own ledger step (ledger.cluster), moves
    only its set; its revert from the ledger puts back only that set."""
    r53, zone_id = lab_client(lab, "route53"), lab["route53"]["zone_id"]
    name = "www-%s.%s" % (uuid.uuid4().hex[:6], lab["route53"]["zone"].rstrip(".") + ".")
    regions = {"eu-1": ("10.1.0.1", "10.1.0.2"), "us-1": ("10.2.0.1", "10.2.0.2")}
    for region, (before, _after) in regions.items():
        r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": name, "Type": "A", "TTL": 60, "SetIdentifier": region, "Weight": 50,
            "ResourceRecords": [{"Value": before}]}}]})

    def sets():
        return dict((s["SetIdentifier"], [r["Value"] for r in s["ResourceRecords"]]) for s in
                    r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if s["Name"] == name)

    release, environment = "R-%s" % uuid.uuid4().hex[:6], "itest-%s" % uuid.uuid4().hex[:6]
    ledger = {"release": release, "environment": environment, "run_id": "{{ run.run_id }}", "cluster": "us-1"}
    base = {"provider": "route53", "dns_zone": "{{ golive_lab.route53.zone }}", "timeout": 60, "ledger": ledger}

    def in_run(*tasks):
        return ([{"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                         "environment": environment}, "register": "run"}]
                + list(tasks)
                + [{"name": "Close", "golive.core.ledger": {"operation": "close", "release": release,
                                                            "environment": environment, "run_id": "{{ run.run_id }}"}}])
    try:
        us_new = regions["us-1"][1]
        proc = play(tmp_path, in_run({"name": "Cut over us-1", "golive.core.dns_cutover": dict(
            base, records=[{"name": name, "set_identifier": "us-1", "weight": 50, "values": [us_new], "ttl": 60}])}))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert sets() == {"eu-1": [regions["eu-1"][0]], "us-1": [us_new]}
        record = read_ledger(lab, environment, release)
        assert [s["id"] for s in record["steps"]] == ["phase5/dns-cutover@us-1"]
        # The revert of us-1 from the ledger alone (no undo given): eu-1's set is not touched.
        proc = play(tmp_path, in_run({"name": "Revert us-1", "golive.core.dns_cutover": dict(
            base, state="reverted", ledger=dict(ledger, step="dns-revert"))}))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert sets() == {"eu-1": [regions["eu-1"][0]], "us-1": [regions["us-1"][0]]}
    finally:
        for s in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
            if s["Name"] == name:
                r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                    {"Action": "DELETE", "ResourceRecordSet": s}]})
