"""pg.tls judged from pg_hba_file_rules rows, the connection's legs and PgBouncer's settings."""

from ansible_collections.golive.core.plugins.module_utils.postgres.tls import judge_tls, plaintext_rules


def rule(line, kind, users, method="scram-sha-256", database=("all",), address="127.0.0.1",
         netmask="255.255.255.255", error=None):
    return {"line_number": line, "type": kind, "database": list(database), "user_name": list(users),
            "address": address, "netmask": netmask, "auth_method": method, "error": error}


LAB = [rule(1, "local", ["all"], "trust", address=None, netmask=None),
       rule(3, "host", ["golive_replicator"], database=["replication"]),
       rule(4, "hostssl", ["app"]),
       rule(5, "hostnossl", ["app"], "reject"),
       rule(6, "host", ["all"])]


def observed(**extra):
    base = {"ssl": "on", "client": {"ssl": True, "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"},
            "server_leg": {"ssl": True, "protocol": "TLSv1.3"}, "rules": LAB, "members": {"app": []},
            "missing_roles": []}
    base.update(extra)
    return base


def test_a_role_refused_without_tls_before_the_catch_all_passes():
    assert plaintext_rules(LAB, "app") == []
    check = judge_tls(observed(), roles=["app"])
    assert check["status"] == "pass" and check["evidence"]["roles"] == {"app": "TLS only"}


def test_the_catch_all_host_rule_lets_other_roles_in_without_tls_and_names_its_line():
    assert [r["line_number"] for r in plaintext_rules(LAB, "reporting")] == [6]
    check = judge_tls(observed(members={"reporting": []}), roles=["reporting"])
    assert check["status"] == "fail"
    assert "role reporting may connect without TLS (pg_hba.conf line 6: host all all 127.0.0.1/255.255.255.255 " \
           "scram-sha-256)" in check["evidence"]["problems"]


def test_a_reject_for_fewer_databases_or_a_narrower_network_does_not_shadow_a_wider_rule():
    rules = [rule(1, "hostnossl", ["app"], "reject", database=["app"]), rule(2, "host", ["app"])]
    assert [r["line_number"] for r in plaintext_rules(rules, "app")] == [2]
    rules = [rule(1, "hostnossl", ["app"], "reject"), rule(2, "host", ["app"], address="10.0.0.0", netmask="255.0.0.0")]
    assert [r["line_number"] for r in plaintext_rules(rules, "app")] == [2]
    rules = [rule(1, "hostnossl", ["all"], "reject", address="all", netmask=None),
             rule(2, "host", ["app"], address="10.0.0.0", netmask="255.0.0.0")]
    assert plaintext_rules(rules, "app") == []


def test_a_group_rule_covers_its_members_and_hostssl_never_counts():
    rules = [rule(1, "hostssl", ["all"]), rule(2, "host", ["+writers"], method="md5")]
    assert [r["line_number"] for r in plaintext_rules(rules, "app", ["writers"])] == [2]
    assert plaintext_rules(rules, "app", ["readers"]) == []


def test_an_unencrypted_connection_an_old_protocol_and_ssl_off_are_named():
    check = judge_tls(observed(ssl="off", client={"ssl": False}, server_leg={"ssl": True, "protocol": "TLSv1.1"}))
    problems = check["evidence"]["problems"]
    assert check["status"] == "fail"
    assert "the server does not serve TLS (ssl = off)" in problems
    assert "this connection is not encrypted" in problems
    assert "its server leg (pg_stat_ssl) uses TLSv1.1, below TLSv1.2" in problems
    relaxed = judge_tls(observed(client={"ssl": False}, server_leg={"ssl": False}), require_connection=False)
    assert relaxed["status"] == "pass"


def test_unreadable_rules_missing_roles_and_pgbouncer_without_tls_fail_with_the_reason():
    check = judge_tls(observed(rules_error="permission denied for view pg_hba_file_rules"), roles=["app"])
    assert any("pg_hba_file_rules cannot be read" in p for p in check["evidence"]["problems"])
    check = judge_tls(observed(missing_roles=["ghost"]), roles=["app", "ghost"])
    assert "role ghost does not exist" in check["evidence"]["problems"]
    assert check["evidence"]["roles"]["ghost"] == "missing"
    bouncer = {"address": "db:6432", "client_tls_sslmode": "disable", "server_tls_sslmode": "verify-full"}
    check = judge_tls(observed(pgbouncer=bouncer))
    assert check["evidence"]["problems"] == [
        "PgBouncer at db:6432 does not use TLS to its clients (client_tls_sslmode = disable)"]
    assert check["checklist"] == "Data Encryption - Database encryption at rest and in transit"


def test_lines_the_server_could_not_load_are_named():
    rules = LAB + [rule(7, "hostssl", ["app"], error="invalid authentication method \"scram\"")]
    check = judge_tls(observed(rules=rules), roles=["app"])
    assert "pg_hba.conf has lines the server could not load: line 7: invalid authentication method \"scram\"" \
        in check["evidence"]["problems"]
