# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encryption in transit of a PostgreSQL deployment (the ``pg.tls`` check).

Observed: the server's ``ssl`` setting; both legs of the collection's own connection (the
client's, from libpq, and the server's, from ``pg_stat_ssl``: through PgBouncer they differ);
the rules of ``pg_hba_file_rules`` in file order; PgBouncer's ``client_tls_sslmode`` and
``server_tls_sslmode``. Judged by pure functions: a declared role passes when no TCP rule
lets it in without TLS, that is every ``host``/``hostnossl`` rule that covers it either
rejects or comes after a rejecting rule that covers the same databases and addresses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, make_check
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg

CHECKLIST = "Data Encryption - Database encryption at rest and in transit"
TITLE = "Connections to PostgreSQL are encrypted and the application's roles cannot connect without TLS"
PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_PLAINTEXT_TYPES = ("host", "hostnossl")


# -- judging (pure) ----------------------------------------------------------------

def _covers_user(rule, role, member_of):
    users = rule.get("user_name") or []
    return "all" in users or role in users or any(u.startswith("+") and u[1:] in member_of for u in users)


def _covers_databases(wider, narrower):
    wide = wider.get("database") or []
    return "all" in wide or set(narrower.get("database") or []) <= set(wide)


def _network(rule):
    try:
        if rule.get("netmask"):
            return ipaddress.ip_network("%s/%s" % (rule["address"], rule["netmask"]), strict=False)
        return ipaddress.ip_network(rule.get("address"), strict=False)
    except (TypeError, ValueError):
        return None


def _covers_addresses(wider, narrower):
    if wider.get("address") == "all":
        return True
    if wider.get("address") == narrower.get("address") and wider.get("netmask") == narrower.get("netmask"):
        return True
    outer, inner = _network(wider), _network(narrower)
    return bool(outer and inner and outer.version == inner.version and inner.subnet_of(outer))


def describe_rule(rule):
    return "line %s: %s %s %s %s %s" % (
        rule.get("line_number"), rule.get("type"), ",".join(rule.get("database") or []),
        ",".join(rule.get("user_name") or []),
        rule.get("address") + ("/" + rule["netmask"] if rule.get("netmask") else "") if rule.get("address") else "",
        rule.get("auth_method"))


def plaintext_rules(rules, role, member_of=()):
    """The rules (in file order) that let ``role`` connect over TCP without TLS."""
    rejecting, found = [], []
    for rule in rules:
        if rule.get("error") or rule.get("type") not in _PLAINTEXT_TYPES or not _covers_user(rule, role, member_of):
            continue
        if rule.get("auth_method") == "reject":
            rejecting.append(rule)
            continue
        shadowed = any(_covers_databases(earlier, rule) and _covers_addresses(earlier, rule) for earlier in rejecting)
        if not shadowed:
            found.append(rule)
    return found


def judge_tls(observed, roles=(), require_connection=True, min_protocol="TLSv1.2"):
    """``observed``: {ssl, client, server_leg, rules, rules_error, members, missing_roles, pgbouncer}."""
    problems = []
    if observed.get("ssl") != "on":
        problems.append("the server does not serve TLS (ssl = %s)" % observed.get("ssl"))
    legs = (("this connection", observed.get("client")), ("its server leg (pg_stat_ssl)", observed.get("server_leg")))
    for name, leg in legs:
        if not leg:
            continue
        if not leg.get("ssl"):
            if require_connection:
                problems.append("%s is not encrypted" % name)
        elif leg.get("protocol") in PROTOCOLS and min_protocol in PROTOCOLS \
                and PROTOCOLS.index(leg["protocol"]) < PROTOCOLS.index(min_protocol):
            problems.append("%s uses %s, below %s" % (name, leg["protocol"], min_protocol))
    allowed = {}
    if roles:
        if observed.get("rules_error"):
            problems.append("pg_hba_file_rules cannot be read: %s" % observed["rules_error"])
        else:
            for role in observed.get("missing_roles") or []:
                problems.append("role %s does not exist" % role)
            for role in roles:
                if role in (observed.get("missing_roles") or []):
                    continue
                found = plaintext_rules(observed.get("rules") or [], role, (observed.get("members") or {}).get(role, ()))
                if found:
                    allowed[role] = [describe_rule(rule) for rule in found]
                    problems.append("role %s may connect without TLS (pg_hba.conf %s)"
                                    % (role, "; ".join(allowed[role])))
            broken = [r for r in observed.get("rules") or [] if r.get("error")]
            if broken:
                problems.append("pg_hba.conf has lines the server could not load: %s" % "; ".join(
                    "line %s: %s" % (r.get("line_number"), r.get("error")) for r in broken))
    bouncer = observed.get("pgbouncer")
    if bouncer:
        if bouncer.get("error"):
            problems.append("PgBouncer at %s: %s" % (bouncer.get("address"), bouncer["error"]))
        else:
            for key, leg in (("client_tls_sslmode", "to its clients"), ("server_tls_sslmode", "to PostgreSQL")):
                if (bouncer.get(key) or "disable") == "disable":
                    problems.append("PgBouncer at %s does not use TLS %s (%s = disable)"
                                    % (bouncer.get("address"), leg, key))
    evidence = {
        "ssl": observed.get("ssl"),
        "connection": observed.get("client"),
        "server_leg": observed.get("server_leg"),
        "roles": dict((role, "TLS only" if role not in allowed and role not in (observed.get("missing_roles") or [])
                       else "allowed without TLS" if role in allowed else "missing") for role in roles),
        "min_protocol": min_protocol,
    }
    if allowed:
        evidence["plaintext_rules"] = allowed
    if bouncer and not bouncer.get("error"):
        evidence["pgbouncer"] = dict((k, bouncer.get(k)) for k in ("address", "client_tls_sslmode",
                                                                   "server_tls_sslmode"))
    if problems:
        evidence["problems"] = problems
    return make_check("pg.tls", TITLE, FAIL if problems else PASS, evidence, CHECKLIST)


# -- observing --------------------------------------------------------------------

def _client_leg(conn):
    info = getattr(conn, "info", None)
    if info is None or not hasattr(info, "ssl_in_use"):
        return None
    if not info.ssl_in_use:
        return {"ssl": False}
    return {"ssl": True, "protocol": info.ssl_attribute("protocol"), "cipher": info.ssl_attribute("cipher"),
            "bits": pg_int(info.ssl_attribute("key_bits"))}


def pg_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def observe_tls(conn, roles=(), pgbouncer=None):
    observed = {"ssl": pg.query(conn, "SELECT current_setting('ssl') AS ssl")[0]["ssl"], "client": _client_leg(conn)}
    row = pg.query(conn, "SELECT ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    if row:
        observed["server_leg"] = {"ssl": bool(row[0]["ssl"]), "protocol": row[0]["version"],
                                  "cipher": row[0]["cipher"], "bits": row[0]["bits"]}
    if roles:
        try:
            observed["rules"] = pg.query(conn, """
                SELECT line_number, type, database, user_name, address, netmask, auth_method, error
                  FROM pg_hba_file_rules ORDER BY line_number""")
        except pg.psycopg2.Error as exc:
            observed["rules_error"] = "%s (as %s: a superuser, or a role granted SELECT on pg_hba_file_rules " \
                                      "and EXECUTE on pg_hba_file_rules(), may read it)" % (
                                          str(exc).strip().splitlines()[0], conn.info.user)
        known = dict((r["rolname"], r["groups"] or []) for r in pg.query(conn, """
            SELECT r.rolname, array(SELECT g.rolname FROM pg_roles g
                                     WHERE g.oid <> r.oid AND pg_has_role(r.oid, g.oid, 'MEMBER')) AS groups
              FROM pg_roles r WHERE r.rolname = ANY(%s)""", (list(roles),)))
        observed["members"] = known
        observed["missing_roles"] = [role for role in roles if role not in known]
    if pgbouncer is not None:
        if pgbouncer.get("error"):
            observed["pgbouncer"] = {"address": pgbouncer.get("address"), "error": pgbouncer["error"]}
        else:
            config = pgbouncer.get("config") or {}
            observed["pgbouncer"] = {"address": pgbouncer.get("address"),
                                     "client_tls_sslmode": config.get("client_tls_sslmode"),
                                     "server_tls_sslmode": config.get("server_tls_sslmode")}
    return observed
