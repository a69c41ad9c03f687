"""A PgBouncer exporter for the lab, with the metric names of the prometheus-community
pgbouncer_exporter (``pgbouncer_up``, ``pgbouncer_pools_*``, ``pgbouncer_stats_*``).

Debian's ``prometheus-pgbouncer-exporter`` (1.7) reads ``SHOW STATS`` columns PgBouncer
dropped in 1.8 (``total_requests``) and exits at start against Debian's PgBouncer (1.18),
so the lab runs this one instead.

``python -m lab.pgbouncer_exporter --listen 127.0.0.1:PORT --host H --port P --user U``
(the password from ``PGPASSWORD``). Each scrape connects to the admin console once.
"""

from __future__ import annotations

import argparse
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POOLS = {"cl_active": ("pools_client_active_connections", "Client connections linked to a server connection"),
         "cl_waiting": ("pools_client_waiting_connections", "Client connections waiting for a server connection"),
         "sv_active": ("pools_server_active_connections", "Server connections linked to a client"),
         "sv_idle": ("pools_server_idle_connections", "Server connections idle and ready for a client"),
         "maxwait": ("pools_client_maxwait_seconds", "Age of the oldest waiting client, in seconds")}
STATS = {"total_xact_count": ("stats_sql_transactions_pooled_total", "counter", "SQL transactions pooled"),
         "total_query_count": ("stats_queries_pooled_total", "counter", "SQL queries pooled"),
         "total_wait_time": ("stats_client_wait_seconds_total", "counter", "Time clients waited, in seconds")}


def _rows(cur, command: str) -> list:
    cur.execute(command)
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _label(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def scrape(host: str, port: int, user: str, password: str | None) -> str:
    import psycopg2
    lines = []
    try:
        conn = psycopg2.connect(host=host, port=port, user=user, password=password, dbname="pgbouncer",
                                connect_timeout=3)
    except psycopg2.Error:
        return "# HELP pgbouncer_up Whether PgBouncer answers\n# TYPE pgbouncer_up gauge\npgbouncer_up 0\n"
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            pools, stats = _rows(cur, "SHOW POOLS"), _rows(cur, "SHOW STATS")
    finally:
        conn.close()
    lines += ["# HELP pgbouncer_up Whether PgBouncer answers", "# TYPE pgbouncer_up gauge", "pgbouncer_up 1"]
    for column, (name, text) in POOLS.items():
        lines += ["# HELP pgbouncer_%s %s" % (name, text), "# TYPE pgbouncer_%s gauge" % name]
        lines += ['pgbouncer_%s{database="%s",user="%s"} %s' % (name, _label(row["database"]), _label(row["user"]),
                                                                  float(row.get(column) or 0)) for row in pools]
    for column, (name, kind, text) in STATS.items():
        lines += ["# HELP pgbouncer_%s %s" % (name, text), "# TYPE pgbouncer_%s %s" % (name, kind)]
        scale = 1e6 if column.endswith("_time") else 1
        lines += ['pgbouncer_%s{database="%s"} %s' % (name, _label(row["database"]),
                                                        float(row.get(column) or 0) / scale) for row in stats]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.pgbouncer_exporter")
    parser.add_argument("--listen", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    args = parser.parse_args(argv)
    password = os.environ.get("PGPASSWORD")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):  # noqa: D401 - quiet
            return

        def do_GET(self):  # noqa: N802
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = scrape(args.host, args.port, args.user, password).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    host, port = args.listen.rsplit(":", 1)
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
