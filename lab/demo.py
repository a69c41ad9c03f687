"""What `make demo` uses besides the playbooks: the application's error injection (the
"incident") and a look at the lab from outside, the way a user sees it.

``python -m lab switch LAB_ERROR_RATIO=0.5`` sets a switch on every running pager Pod.
``python -m lab observe [--json]`` asks both DNS servers what ``www`` is, asks the router
which version answers there and on each site, and reads the schema version and rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.router import client

HOST = "www.lab.example"


def pods(state_dir: Path, deployment: str = "pager", terminating: bool = False) -> list:
    """The Pod runtime's processes of a Deployment's Pods (with those deleted but still in
    their grace period when ``terminating``)."""
    rows = json.loads((state_dir / "k8s" / "pods.json").read_text())
    return [r for r in rows if r["pod"].startswith(deployment + "-") and (terminating or not r["terminating"])]


def switch(endpoints: dict, state_dir: Path, switches: dict) -> list:
    """Set ``switches`` on every running pager Pod; returns the Pods set."""
    done = []
    for proc in pods(state_dir):
        address, port = proc["address"].rsplit(":", 1)
        status, _, body, _ = client.request(address, int(port), HOST, "POST", "/_lab/switches",
                                            dict((k, str(v)) for k, v in switches.items()),
                                            {"X-Lab-Admin": endpoints["app"]["admin_token"]}, scheme="http")
        if status != 200:
            raise RuntimeError(f"pod {proc['pod']} refused the switches: HTTP {status} {body[:200]!r}")
        done.append(proc["pod"])
    return done


def _dns(server: str, port: int, name: str) -> list:
    import dns.message
    import dns.query
    import dns.rdatatype

    answer = dns.query.udp(dns.message.make_query(name, dns.rdatatype.A), server, port=port, timeout=3)
    return sorted(r.address for rrset in answer.answer for r in rrset if rrset.rdtype == dns.rdatatype.A)


def _version(address: str, endpoints: dict) -> str | None:
    app = endpoints["app"]
    try:
        status, _, body, _ = client.request(address, app["https_port"], HOST, path="/version",
                                            ca_file=app["ca_file"], timeout=3)
    except OSError as exc:
        return f"unreachable ({exc.__class__.__name__})"
    if status != 200:
        return f"HTTP {status}"
    return json.loads(body).get("version")


def observe(endpoints: dict) -> dict:
    import psycopg2

    answers = {}
    for ns, address in endpoints["dns"]["nameservers"].items():
        host, port = address.rsplit(":", 1)
        answers[ns.rstrip(".")] = _dns(host, int(port), HOST + ".")
    first = next(iter(answers.values()), [])
    sites = endpoints["app"]["sites"]
    pg = endpoints["postgres"]
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname=pg["database"], connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT max(version::int) FROM golive_schema_history WHERE success")
            schema = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM incidents")
            incidents = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'incidents' "
                        "AND column_name = 'acknowledged_at'")
            acknowledged = bool(cur.fetchone()[0])
    finally:
        conn.close()
    return {
        "dns": answers,
        "served": {"through DNS": _version(first[0], endpoints) if first else None,
                   "old site": _version(sites["old"], endpoints), "new site": _version(sites["new"], endpoints)},
        "database": {"schema_version": schema, "incidents": incidents, "incidents.acknowledged_at": acknowledged},
    }


def describe(observed: dict) -> str:
    dns_line = "; ".join(f"{ns} {', '.join(a) or '-'}" for ns, a in observed["dns"].items())
    served = observed["served"]
    db = observed["database"]
    return (f"www.lab.example -> {dns_line}\n"
            f"version through DNS: {served['through DNS']} (old site {served['old site']}, new site {served['new site']})\n"
            f"database: schema V{db['schema_version']}, {db['incidents']} incidents, "
            f"acknowledged_at column {'present' if db['incidents.acknowledged_at'] else 'absent'}")
