"""The demo application: a small pager service (users, log-in tokens, incidents).

Rows live in the lab's PostgreSQL (through PgBouncer), log-in tokens in Redis (found
through Sentinel). Every answer carries ``X-App-Version``. Configuration is the
environment a Pod gets:

  DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD,
  DATABASE_SSLMODE (libpq's sslmode, default prefer), DATABASE_SSLROOTCERT
  REDIS_SENTINELS ("host:port,..."), REDIS_MASTER_NAME, REDIS_PASSWORD
  LAB_ERROR_RATIO      fraction of API requests answered 500 (0..1)
  LAB_LATENCY_MS       added to every API request
  LAB_CPU_MS           CPU time every API request spends computing (a load the autoscaler sees)
  LAB_FAIL_READINESS   "true": /readyz answers 503
  LAB_FAIL_LIVENESS    "true": /healthz answers 500 (the kubelet restarts the process)
  LAB_ADMIN_TOKEN      enables POST /_lab/switches (header X-Lab-Admin) to change the five above

Routes: GET /version, /healthz (liveness), /readyz (database, Redis and the schema this
version needs), /metrics (Prometheus text); POST /api/users, POST /api/login,
GET|POST /api/incidents, and from 2026.11.3 POST /api/incidents/<id>/ack.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import secrets
import threading
import time

import psycopg2
import psycopg2.pool
import redis
import redis.sentinel

from lab.app.web import App, HttpError

TOKEN_TTL = 3600


class Pager(App):
    def __init__(self, version: str, build: dict, env: dict) -> None:
        super().__init__("pager", version, env)
        self.requires = build.get("requires") or []
        self.build_ready = build.get("ready", True)
        self.acks = "incidents.acknowledged_at" in self.requires
        self._pool = None
        self._redis = None
        self._lock = threading.Lock()

    # -- backends ---------------------------------------------------------------------
    def db(self):
        with self._lock:
            if self._pool is None:
                env = self.env
                self._pool = psycopg2.pool.ThreadedConnectionPool(
                    1, 8, host=env.get("DATABASE_HOST", "127.0.0.1"), port=int(env.get("DATABASE_PORT", 5432)),
                    dbname=env.get("DATABASE_NAME", "golive"), user=env.get("DATABASE_USER"),
                    password=env.get("DATABASE_PASSWORD"), connect_timeout=3, application_name=f"pager/{self.version}",
                    sslmode=env.get("DATABASE_SSLMODE", "prefer"), sslrootcert=env.get("DATABASE_SSLROOTCERT") or None)
            return self._pool

    def query(self, sql: str, args=(), one: bool = False):
        pool = self.db()
        conn = pool.getconn()
        broken = False
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, args)
                rows = cur.fetchall() if cur.description else []
                names = [d[0] for d in cur.description] if cur.description else []
            out = [dict(zip(names, row)) for row in rows]
            return (out[0] if out else None) if one else out
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True  # a restore or a PgBouncer KILL cut it: reconnect next time
            raise
        finally:
            pool.putconn(conn, close=broken or conn.closed != 0)

    def cache(self):
        with self._lock:
            if self._redis is None:
                env = self.env
                sentinels = [(h, int(p)) for h, p in (s.rsplit(":", 1) for s in
                                                      env.get("REDIS_SENTINELS", "").split(",") if s)]
                handle = redis.sentinel.Sentinel(
                    sentinels, socket_timeout=2, socket_connect_timeout=2,
                    sentinel_kwargs={"password": env.get("REDIS_SENTINEL_PASSWORD") or None, "socket_timeout": 2})
                self._redis = handle.master_for(env.get("REDIS_MASTER_NAME", "mymaster"),
                                                password=env.get("REDIS_PASSWORD") or None, socket_timeout=2,
                                                decode_responses=True)
            return self._redis

    # -- probes -----------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        if not self.build_ready:
            return False, "this build cannot start: configuration invalid"
        if self.switch_bool("LAB_FAIL_READINESS"):
            return False, "readiness failure injected (LAB_FAIL_READINESS)"
        try:
            self.query("SELECT 1")
        except psycopg2.Error as exc:
            return False, f"database: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
        try:
            self.cache().ping()
        except redis.RedisError as exc:
            return False, f"redis: {exc}"
        missing = self.missing_columns()
        if missing:
            return False, f"schema: missing {', '.join(missing)} (this version needs a newer migration)"
        return True, "ok"

    def missing_columns(self) -> list[str]:
        have = set(f"{r['table_name']}.{r['column_name']}" for r in self.query(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = ANY(%s)", (list(set(c.split(".")[0] for c in self.requires)),)))
        return [c for c in self.requires if c not in have]

    # -- the API ----------------------------------------------------------------------
    def handle_api(self, method: str, path: str, headers, body: dict):
        injected = float(self.switch("LAB_ERROR_RATIO") or 0)
        delay = float(self.switch("LAB_LATENCY_MS") or 0)
        if delay:
            time.sleep(delay / 1000.0)
        work = float(self.switch("LAB_CPU_MS") or 0) / 1000.0
        if work:
            spent = time.thread_time()
            while time.thread_time() - spent < work:
                sum(i * i for i in range(2000))
        if injected and random.random() < injected:
            raise HttpError(500, "error injected (LAB_ERROR_RATIO)")
        if method == "POST" and path == "/api/users":
            return self.register(body)
        if method == "POST" and path == "/api/login":
            return self.login(body)
        if path == "/api/incidents":
            user = self.user_of(headers)
            if method == "GET":
                return 200, {"incidents": self.incidents()}
            if method == "POST":
                return self.create_incident(user, body)
        parts = path.strip("/").split("/")
        if self.acks and method == "POST" and len(parts) == 4 and parts[:2] == ["api", "incidents"] \
                and parts[3] == "ack" and parts[2].isdigit():
            return self.acknowledge(self.user_of(headers), int(parts[2]))
        raise HttpError(404, "no such route")

    @staticmethod
    def _hash(password: str, salt: str) -> str:
        return salt + "$" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()

    def register(self, body: dict):
        email, password = str(body.get("email") or ""), str(body.get("password") or "")
        if "@" not in email or len(password) < 8:
            raise HttpError(422, "an email and a password of at least 8 characters are required")
        try:
            row = self.query("INSERT INTO pager_users (email, password_hash) VALUES (%s, %s) "
                             "RETURNING id, email, created_at::text", (email, self._hash(password, secrets.token_hex(8))),
                             one=True)
        except psycopg2.errors.UniqueViolation:
            raise HttpError(409, "that email is registered already") from None
        return 201, row

    def login(self, body: dict):
        row = self.query("SELECT id, password_hash FROM pager_users WHERE email = %s",
                         (str(body.get("email") or ""),), one=True)
        password = str(body.get("password") or "")
        if row is None or not hmac.compare_digest(self._hash(password, row["password_hash"].split("$")[0]),
                                                  row["password_hash"]):
            raise HttpError(401, "wrong email or password")
        token = secrets.token_urlsafe(24)
        self.cache().set("pager:token:" + token, row["id"], ex=TOKEN_TTL)
        return 200, {"token": token, "expires_in": TOKEN_TTL}

    def user_of(self, headers) -> int:
        auth = headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else ""
        user = self.cache().get("pager:token:" + token) if token else None
        if user is None:
            raise HttpError(401, "log in first (Authorization: Bearer <token>)")
        return int(user)

    def incidents(self):
        extra = ", acknowledged_at::text, acknowledged_by" if self.acks else ""
        return self.query("SELECT id, title, severity, status, reporter_id, created_at::text%s FROM incidents "
                          "ORDER BY id DESC LIMIT 100" % extra)

    def create_incident(self, user: int, body: dict):
        title, severity = str(body.get("title") or ""), str(body.get("severity") or "sev3")
        if not title or severity not in ("sev1", "sev2", "sev3"):
            raise HttpError(422, "a title and a severity (sev1, sev2, sev3) are required")
        return 201, self.query("INSERT INTO incidents (title, severity, reporter_id) VALUES (%s, %s, %s) "
                               "RETURNING id, title, severity, status, created_at::text", (title, severity, user),
                               one=True)

    def acknowledge(self, user: int, incident: int):
        row = self.query("UPDATE incidents SET status = 'acknowledged', acknowledged_at = now(), "
                         "acknowledged_by = %s WHERE id = %s RETURNING id, status, acknowledged_at::text",
                         (user, incident), one=True)
        if row is None:
            raise HttpError(404, "no such incident")
        return 200, row


def build(version: str, build_info: dict, env: dict | None = None) -> Pager:
    return Pager(version, build_info, dict(os.environ if env is None else env))
