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


def pods(state_dir: Path, deployment: str = "pager", terminating: bool = False, namespace: str = "pager",
         cluster: str | None = None) -> list:
    """The Pod runtime's processes of a Deployment's Pods in ``namespace`` (with those deleted
    but still in their grace period when ``terminating``), in the home cluster or ``cluster``."""
    from lab.services.clusters import HOME
    folder = "k8s" if cluster in (None, "", HOME) else f"k8s-{cluster}"
    rows = json.loads((state_dir / folder / "pods.json").read_text())
    return [r for r in rows if r["pod"].startswith(deployment + "-") and r.get("namespace") == namespace
            and (terminating or not r["terminating"])]


def switch(endpoints: dict, state_dir: Path, switches: dict, cluster: str | None = None) -> list:
    """Set ``switches`` on every running pager Pod (of the home cluster, or ``cluster``); returns the Pods set."""
    done = []
    for proc in pods(state_dir, cluster=cluster):
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
    answers = {}
    for ns, address in endpoints["dns"]["nameservers"].items():
        host, port = address.rsplit(":", 1)
        answers[ns.rstrip(".")] = _dns(host, int(port), HOST + ".")
    first = next(iter(answers.values()), [])
    sites = endpoints["app"]["sites"]
    return {
        "dns": answers,
        "served": {"through DNS": _version(first[0], endpoints) if first else None,
                   "old site": _version(sites["old"], endpoints), "new site": _version(sites["new"], endpoints)},
        "database": _database(endpoints["postgres"]),
    }


def _connect(pg: dict, dbname: str):
    import psycopg2
    return psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname=dbname, connect_timeout=5)


def _database(pg: dict) -> dict:
    """The pager's schema and rows, or why the database cannot be read now (a rollback's
    restore refuses connections while it swaps the databases)."""
    import psycopg2
    try:
        conn = _connect(pg, pg["database"])
    except psycopg2.Error as exc:
        return {"unavailable": _why_unavailable(pg) or str(exc).strip().splitlines()[0]}
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT max(version::int) FROM golive_schema_history WHERE success")
            schema = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM incidents")
            incidents = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'incidents' "
                        "AND column_name = 'acknowledged_at'")
            acknowledged = bool(cur.fetchone()[0])
    except psycopg2.Error as exc:
        return {"unavailable": _why_unavailable(pg) or str(exc).strip().splitlines()[0]}
    finally:
        conn.close()
    return {"schema_version": schema, "incidents": incidents, "incidents.acknowledged_at": acknowledged}


def _why_unavailable(pg: dict):
    """``restoring`` while a restore of the pager's database is under way, else None."""
    import psycopg2
    try:
        conn = _connect(pg, "postgres")
    except psycopg2.Error:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s OR (datname = %s AND NOT datallowconn)",
                        (pg["database"] + "\\_restoring\\_%", pg["database"]))
            return "restoring" if cur.fetchone()[0] else None
    except psycopg2.Error:
        return None
    finally:
        conn.close()


def describe(observed: dict) -> str:
    dns_line = "; ".join(f"{ns} {', '.join(a) or '-'}" for ns, a in observed["dns"].items())
    served = observed["served"]
    db = observed["database"]
    if "unavailable" in db:
        database = f"database unavailable ({db['unavailable']})"
    else:
        database = (f"database: schema V{db['schema_version']}, {db['incidents']} incidents, "
                    f"acknowledged_at column {'present' if db['incidents.acknowledged_at'] else 'absent'}")
    return (f"www.lab.example -> {dns_line}\n"
            f"version through DNS: {served['through DNS']} (old site {served['old site']}, new site {served['new site']})\n"
            + database)
