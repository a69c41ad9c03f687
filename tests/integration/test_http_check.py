"""http_check against the lab's router and BIND: resolution that follows DNS, statistics
over repeated requests, and secrets (a password passed as a secret, a token saved from an
answer) that never appear in the task's output, even with -vvv."""

import json
import uuid

import dns.query
import pytest
import dns.tsigkeyring
import dns.update
import redis
import redis.sentinel

from helpers import run_playbook

from ansible_collections.golive.core.plugins.module_utils.http import probe, transport


def set_a_record(lab, name, address):
    zone = lab["dns"]["zone"]
    keyring = dns.tsigkeyring.from_text({lab["dns"]["tsig_key_name"]: lab["dns"]["tsig_secret"]})
    update = dns.update.Update(zone, keyring=keyring, keyalgorithm=lab["dns"]["tsig_algorithm"])
    if address:
        update.replace(name, 5, "A", address)
    else:
        update.delete(name)
    answer = dns.query.tcp(update, lab["dns"]["server"], port=lab["dns"]["port"], timeout=10)
    assert answer.rcode() == 0


def test_a_check_follows_what_a_dns_server_answers(lab):
    name = "probe-%s" % uuid.uuid4().hex[:6]
    host = "%s.%s" % (name, lab["dns"]["zone"].rstrip("."))
    url = "http://%s:%d/" % (host, lab["app"]["http_port"])
    try:
        for site in ("old", "new"):
            set_a_record(lab, name, lab["app"]["sites"][site])
            resolver = transport.Resolver(dns_server=lab["dns"]["server"], dns_port=lab["dns"]["port"])
            # The router has no rule for this name: its default backend answers 404, from the site DNS named.
            result = probe.run([{"name": "dns", "url": url, "status": [404], "count": 3}], resolver=resolver)
            endpoint = result["endpoints"][0]
            assert endpoint["address"] == lab["app"]["sites"][site] and endpoint["errors"] == 0
    finally:
        set_a_record(lab, name, None)
    missing = probe.run([{"name": "gone", "url": url}],
                        resolver=transport.Resolver(dns_server=lab["dns"]["server"], dns_port=lab["dns"]["port"]))
    assert "no A record" in missing["endpoints"][0]["failures"][0]["reason"]


@pytest.mark.xdist_group("pager")  # the pager's answers: no other test may inject errors meanwhile
def test_statistics_secrets_and_failures_through_ansible(lab, tmp_path):
    app = lab["app"]
    base = "https://%s:%d" % (app["hosts"][0], app["https_port"])
    password = "pw-%s" % uuid.uuid4().hex
    email = "stats-%s@lab.example" % uuid.uuid4().hex[:6]
    task = {"golive.core.http_check": {
        "requests": [
            {"name": "healthz", "url": base + "/healthz", "count": 20},
            {"name": "register", "method": "POST", "url": base + "/api/users", "status": [201],
             "body": {"email": email, "password": "${password}"}},
            {"name": "login", "method": "POST", "url": base + "/api/login",
             "body": {"email": email, "password": "${password}"}, "save": {"token": "token"}},
            {"name": "incidents", "url": base + "/api/incidents", "headers": {"Authorization": "Bearer ${token}"},
             "assertions": ["incidents[0].id == `-1`"]},
        ],
        "secrets": {"password": password}, "concurrency": 5,
        "resolve": {app["hosts"][0]: app["sites"]["new"]}, "ca_file": app["ca_file"]},
        "register": "checked", "ignore_errors": True}
    show = {"ansible.builtin.copy": {"content": "{{ checked | to_json }}", "dest": str(tmp_path / "result.json"),
                                     "mode": "0600"}}
    playbook = tmp_path / "http.yml"
    playbook.write_text(json.dumps([{"name": "HTTP", "hosts": "golive", "gather_facts": False,
                                     "tasks": [task, show]}]))
    proc = run_playbook(str(playbook), "-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["failed"] is True and "http.incidents" in result["msg"]
    endpoints = dict((e["name"], e) for e in result["endpoints"])
    assert endpoints["healthz"]["requests"] == 20 and endpoints["healthz"]["error_ratio"] == 0.0
    assert endpoints["healthz"]["latency_ms"]["p50"] <= endpoints["healthz"]["latency_ms"]["p99"]
    assert endpoints["healthz"]["address"] == app["sites"]["new"]
    assert endpoints["incidents"]["failures"][0]["reason"].startswith("assertion"), endpoints["incidents"]["failures"]
    assert result["saved"] == ["token"]
    # Neither the password nor any login token the application holds (in Redis) is in any output.
    everything = proc.stdout + proc.stderr + json.dumps(result)
    assert password not in everything
    sentinel = redis.sentinel.Sentinel([(s["host"], s["port"]) for s in lab["redis"]["sentinels"]],
                                       sentinel_kwargs={"password": lab["redis"]["sentinel_password"]})
    master = sentinel.master_for(lab["redis"]["master_name"], password=lab["redis"]["password"])
    tokens = [key.decode().split("pager:token:", 1)[1] for key in master.scan_iter("pager:token:*")]
    assert tokens and not [t for t in tokens if t in everything]
