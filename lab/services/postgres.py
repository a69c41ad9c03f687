"""PostgreSQL 15: a primary, a streaming replica on a replication slot, and PgBouncer.

Layout under ``<state>/pg`` (owned by the ``postgres`` system user, which runs every
daemon here because PostgreSQL and PgBouncer refuse to run as root). When that user
cannot reach the state dir (a clone in root's home, mode 700), the directory lives
under ``/var/tmp/golive-lab/<hash>/pg`` instead and ``<state>/pg`` links to it:

- ``primary/``   data directory (initdb; scram-sha-256 for TCP, trust on the socket)
- ``replica/``   data directory (pg_basebackup -R from the primary, slot ``golive_replica``)
- ``run/``       unix sockets
- ``pgbouncer/`` pgbouncer.ini and userlist.txt
- ``pgpass``     password file the replica uses to reach the primary
- ``tls/``       the server certificate from the lab CA (PostgreSQL and PgBouncer serve TLS)

The application's role may only connect over TLS (``hostssl``; ``hostnossl ... reject``),
to PostgreSQL and to PgBouncer alike; PgBouncer reaches PostgreSQL over TLS, verifying it.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from lab.base import LabContext, Service, ServiceError, chown, pid_alive, server_tls, write_file

# PostgreSQL and PgBouncer refuse to run as root: as root, run them as this user;
# as any other user, run them as that user.
OS_USER = "postgres" if os.geteuid() == 0 else None
BINDIR = Path(os.environ.get("GOLIVE_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
ADMIN_USER = "golive_admin"
APP_USER = "golive_app"
DATABASE = "golive"
REPL_USER = "golive_replicator"
SLOT = "golive_replica"
BOUNCER_ADMIN = "pgbouncer_admin"
POOL_MODE = "session"

SERVER_SETTINGS = """
# --- golive lab settings (appended by lab/services/postgres.py) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '{run}'
max_connections = 60
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 64MB
hot_standby = on
hot_standby_feedback = on
password_encryption = scram-sha-256
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
"""

HBA = """# golive lab: socket trusted, TCP with SCRAM passwords; the application's role over TLS only.
local   all             all                                     trust
local   replication     all                                     trust
host    replication     {repl}      127.0.0.1/32            scram-sha-256
hostssl all             {app}      127.0.0.1/32            scram-sha-256
hostnossl all           {app}      127.0.0.1/32            reject
host    all             all             127.0.0.1/32            scram-sha-256
"""

# PgBouncer's own HBA (auth_type = hba): the same rule for its clients.
BOUNCER_HBA = """local     all  all                  scram-sha-256
hostssl   all  {app}  127.0.0.1/32  scram-sha-256
hostnossl all  {app}  127.0.0.1/32  reject
host      all  all    127.0.0.1/32  scram-sha-256
"""


def _tls_args(tls: dict) -> list[str]:
    return ["-c", "ssl=on", "-c", f"ssl_cert_file={tls['cert']}", "-c", f"ssl_key_file={tls['key']}",
            "-c", "ssl_min_protocol_version=TLSv1.2"]


def _connect(port: int, user: str, password: str, dbname: str = "postgres"):
    import psycopg2

    return psycopg2.connect(host="127.0.0.1", port=port, user=user, password=password,
                            dbname=dbname, connect_timeout=3)


def clear_stale_locks(datadir: Path, run: Path, port: int) -> None:
    """Remove lock files of a killed postmaster whose pid is gone or a zombie.

    PostgreSQL itself only checks that the pid exists, and a zombie that no init
    process reaps would block the start.
    """
    for lock in (datadir / "postmaster.pid", run / f".s.PGSQL.{port}.lock"):
        try:
            pid = int(lock.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            continue
        if pid > 0 and not pid_alive(pid):
            lock.unlink(missing_ok=True)


class Postgres(Service):
    name = "postgres"
    processes = {
        "postgres-primary": ("postgres-primary",),
        "postgres-replica": ("postgres-replica",),
        "pgbouncer": ("pgbouncer",),
    }

    def status(self, ctx: LabContext) -> dict:
        out = super().status(ctx)
        data = ctx.daemon_dirs().get("pg")
        if data and not data.startswith(str(ctx.state_dir) + "/"):
            out["data"] = data  # out of the state dir: its user cannot reach that
        return out

    def start(self, ctx: LabContext) -> dict:
        root = ctx.daemon_path("pg", user=OS_USER)
        run = ctx.daemon_path("pg", "run", user=OS_USER)
        data = ctx.data(self.name)
        pw = {
            "admin": ctx.secret("postgres_admin_password"),
            "app": ctx.secret("postgres_app_password"),
            "repl": ctx.secret("postgres_replication_password"),
            "bouncer": ctx.secret("pgbouncer_admin_password"),
        }
        for binary in ("initdb", "postgres", "pg_basebackup"):
            if not (BINDIR / binary).exists():
                raise ServiceError(self.name, f"{BINDIR / binary} not found "
                                              f"(install postgresql-15)",
                                   ctx.log_path("postgres-primary"))

        primary_port = ctx.port("postgres-primary")
        primary = root / "primary"
        tls = server_tls(ctx, ctx.daemon_path("pg", "tls", user=OS_USER), "postgres", owner=OS_USER)
        self._initdb(ctx, primary, run, pw)
        if not ctx.running_pid("postgres-primary"):
            clear_stale_locks(primary, run, primary_port)
            write_file(primary / "pg_hba.conf", HBA.format(repl=REPL_USER, app=APP_USER), 0o600, owner=OS_USER)
        admin = lambda port: _connect(port, ADMIN_USER, pw["admin"])  # noqa: E731
        ctx.spawn("postgres-primary",
                  [str(BINDIR / "postgres"), "-D", str(primary), "-p", str(primary_port)] + _tls_args(tls)
                  # Loaded so pg_health's slow_queries has a real pg_stat_statements to read
                  # (created in the databases that want it; the application's has none).
                  + ["-c", "shared_preload_libraries=pg_stat_statements"],
                  ports=[primary_port], user=OS_USER, stop_signal=signal.SIGINT,
                  ready=lambda: admin(primary_port).close() is None, match=str(primary))
        if not data.get("setup_done"):
            self._setup(primary_port, pw)
            data["setup_done"] = True
            ctx.save()

        replica_port = ctx.port("postgres-replica")
        replica = root / "replica"
        pgpass = root / "pgpass"
        write_file(pgpass, f"127.0.0.1:*:*:{REPL_USER}:{pw['repl']}\n", 0o600, owner=OS_USER)
        if not ctx.running_pid("postgres-replica"):
            if not (replica / "PG_VERSION").exists():
                self._basebackup(ctx, replica, primary_port, pgpass)
            self._point_replica(replica, primary_port, pgpass)
            clear_stale_locks(replica, run, replica_port)
            write_file(replica / "pg_hba.conf", HBA.format(repl=REPL_USER, app=APP_USER), 0o600, owner=OS_USER)
        ctx.spawn("postgres-replica",
                  [str(BINDIR / "postgres"), "-D", str(replica), "-p", str(replica_port)] + _tls_args(tls),
                  ports=[replica_port], user=OS_USER, stop_signal=signal.SIGINT,
                  ready=lambda: admin(replica_port).close() is None, match=str(replica))

        bouncer_port = ctx.port("pgbouncer")
        bdir = ctx.daemon_path("pg", "pgbouncer", user=OS_USER)
        ini = bdir / "pgbouncer.ini"
        if not ctx.running_pid("pgbouncer"):
            self._bouncer_config(bdir, ini, run, primary_port, bouncer_port, pw, tls)
        ctx.spawn("pgbouncer", ["pgbouncer", str(ini)], ports=[bouncer_port], user=OS_USER,
                  stop_signal=signal.SIGTERM, match=str(ini))

        return {"postgres": {
            "host": ctx.host,
            "port": primary_port,
            "replica_port": replica_port,
            "pgbouncer_port": bouncer_port,
            "pgbouncer_admin_user": BOUNCER_ADMIN,
            "pgbouncer_admin_password": pw["bouncer"],
            "pgbouncer_pool_mode": POOL_MODE,
            "admin_user": ADMIN_USER,
            "admin_password": pw["admin"],
            "app_user": APP_USER,
            "app_password": pw["app"],
            "database": DATABASE,
            "replication_user": REPL_USER,
            "replication_password": pw["repl"],
            "replication_slot": SLOT,
            "socket_dir": str(run),
            "bindir": str(BINDIR),
            "primary_data_dir": str(primary),
            "replica_data_dir": str(replica),
            # TLS from the lab CA on PostgreSQL and PgBouncer; the application's role needs it.
            "ca_file": str(tls["ca_file"]),
            "ssl_mode": "verify-full",
        }}

    # -- steps -----------------------------------------------------------------
    def _initdb(self, ctx: LabContext, primary: Path, run: Path, pw: dict) -> None:
        if (primary / "PG_VERSION").exists():
            return
        log = ctx.log_path("postgres-primary")
        if primary.exists():  # a half-done initdb: start over
            import shutil
            shutil.rmtree(primary)
        pwfile = primary.parent / ".initdb-pw"
        write_file(pwfile, pw["admin"] + "\n", 0o600, owner=OS_USER)
        try:
            ctx.run([str(BINDIR / "initdb"), "-D", str(primary), "-U", ADMIN_USER,
                     f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                    user=OS_USER, service="postgres-primary", log=log)
        finally:
            pwfile.unlink(missing_ok=True)
        with open(primary / "postgresql.conf", "a") as fh:
            fh.write(SERVER_SETTINGS.format(run=run))

    def _setup(self, port: int, pw: dict) -> None:
        conn = _connect(port, ADMIN_USER, pw["admin"])
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for role, password, extra in ((APP_USER, pw["app"], "LOGIN"),
                                              (REPL_USER, pw["repl"], "LOGIN REPLICATION")):
                    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                    verb = "ALTER" if cur.fetchone() else "CREATE"
                    cur.execute(f"{verb} ROLE {role} WITH {extra} PASSWORD %s", (password,))
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if not cur.fetchone():
                    cur.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_USER}")
                cur.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (SLOT,))
                if not cur.fetchone():
                    cur.execute("SELECT pg_create_physical_replication_slot(%s, true)", (SLOT,))
        finally:
            conn.close()
        conn = _connect(port, ADMIN_USER, pw["admin"], DATABASE)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"ALTER SCHEMA public OWNER TO {APP_USER}")
        finally:
            conn.close()

    def _basebackup(self, ctx: LabContext, replica: Path, primary_port: int, pgpass: Path) -> None:
        if replica.exists():
            import shutil
            shutil.rmtree(replica)
        ctx.run([str(BINDIR / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
                 "-U", REPL_USER, "-D", str(replica), "-R", "-S", SLOT, "-X", "stream",
                 "-c", "fast", "--no-sync", "-w"],
                user=OS_USER, env={"PGPASSFILE": str(pgpass)}, service="postgres-replica",
                log=ctx.log_path("postgres-replica"))

    def _point_replica(self, replica: Path, primary_port: int, pgpass: Path) -> None:
        """Set primary_conninfo/slot in postgresql.auto.conf for the current primary port."""
        auto = replica / "postgresql.auto.conf"
        text = auto.read_text() if auto.exists() else ""
        text = re.sub(r"(?m)^\s*(primary_conninfo|primary_slot_name)\s*=.*\n?", "", text)
        conninfo = (f"host=127.0.0.1 port={primary_port} user={REPL_USER} "
                    f"passfile={pgpass} application_name={SLOT}")
        text = text.rstrip("\n") + ("\n" if text.strip() else "")
        text += f"primary_conninfo = '{conninfo}'\nprimary_slot_name = '{SLOT}'\n"
        write_file(auto, text, 0o600, owner=OS_USER)
        signal_file = replica / "standby.signal"
        if not signal_file.exists():
            signal_file.touch()
            if OS_USER:
                chown(signal_file, OS_USER)

    def _bouncer_config(self, bdir: Path, ini: Path, run: Path, primary_port: int,
                        bouncer_port: int, pw: dict, tls: dict) -> None:
        users = {APP_USER: pw["app"], BOUNCER_ADMIN: pw["bouncer"], ADMIN_USER: pw["admin"]}
        userlist = bdir / "userlist.txt"
        write_file(userlist, "".join(f'"{u}" "{p}"\n' for u, p in users.items()), 0o600,
                   owner=OS_USER)
        hba = bdir / "pgbouncer_hba.conf"
        write_file(hba, BOUNCER_HBA.format(app=APP_USER), 0o600, owner=OS_USER)
        write_file(ini, f"""; golive lab PgBouncer (generated by lab/services/postgres.py)
[databases]
{DATABASE} = host=127.0.0.1 port={primary_port} dbname={DATABASE}
* = host=127.0.0.1 port={primary_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {bouncer_port}
unix_socket_dir = {run}
auth_type = hba
auth_hba_file = {hba}
auth_file = {userlist}
admin_users = {BOUNCER_ADMIN}
stats_users = {BOUNCER_ADMIN}, {ADMIN_USER}
pool_mode = {POOL_MODE}
max_client_conn = 200
default_pool_size = 10
client_tls_sslmode = allow
client_tls_cert_file = {tls['cert']}
client_tls_key_file = {tls['key']}
client_tls_protocols = secure
server_tls_sslmode = verify-full
server_tls_ca_file = {tls['ca']}
ignore_startup_parameters = extra_float_digits,options
log_connections = 0
log_disconnections = 0
""", 0o600, owner=OS_USER)
