"""Settings objects: built once at a module's edge; services take them, never ``params``."""

import ast
from pathlib import Path

import pytest

from ansible_collections.golive.core.plugins.module_utils.aws.session import AwsSettings
from ansible_collections.golive.core.plugins.module_utils.k8s.client import KubeSettings
from ansible_collections.golive.core.plugins.module_utils.notify.smtp_probe import SmtpServer
from ansible_collections.golive.core.plugins.module_utils.postgres.connection import PgServer
from ansible_collections.golive.core.plugins.module_utils.redis.connection import RedisServer

ROOT = Path(__file__).resolve().parents[5] / "plugins" / "module_utils"


def test_options_map_onto_settings_with_defaults():
    server = PgServer.from_params({"login_host": "db", "login_port": None, "login_password": "pw", "other": 1})
    assert (server.host, server.port, server.user, server.dbname, server.connect_timeout) == (
        "db", 5432, "postgres", "postgres", 10)
    assert server.libpq("scratch") == {"host": "db", "port": 5432, "user": "postgres", "dbname": "scratch",
                                       "connect_timeout": 10, "password": "pw"}
    assert server.on("app").dbname == "app" and server.dbname == "postgres"


def test_settings_are_immutable_and_compare_by_value():
    server = PgServer(host="db")
    with pytest.raises(AttributeError, match="immutable"):
        server.host = "elsewhere"
    assert server == PgServer(host="db") and server != server.replace(port=5433)
    assert len({server, PgServer(host="db")}) == 1
    with pytest.raises(TypeError, match="no setting login_host"):
        PgServer(login_host="db")


@pytest.mark.parametrize("settings", [
    PgServer(password="s3cret-pg"), RedisServer(password="s3cret-pg", sentinel_password="s3cret-pg"),
    AwsSettings(secret_key="s3cret-pg", access_key="s3cret-pg"), KubeSettings(api_key="s3cret-pg"),
    SmtpServer(password="s3cret-pg"),
])
def test_a_secret_never_shows_in_repr(settings):
    assert "s3cret-pg" not in repr(settings) and "********" in repr(settings)


def test_redis_sentinels_are_kept_as_addresses():
    server = RedisServer.from_params({"redis_sentinels": [{"host": "s1", "port": 26380}, {"host": "s2"}],
                                      "redis_master_name": "pager"})
    assert server.sentinels == (("s1", 26380), ("s2", 26379))
    assert server.replace(db=1).sentinels == server.sentinels
    assert server.describe() == "Redis master 'pager' via Sentinels s1:26380, s2:26379"


def test_no_service_takes_the_module_or_its_params():
    """Only the module edge (common/module.py) sees the module; the ``*_from_params``
    builders turn options into settings or stores once, at the edge."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.relative_to(ROOT).as_posix() == "common/module.py":  # the edge
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.endswith("from_params"):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                bad = [n for n in names if n in ("params", "module", "p")]
                if bad:
                    found.append("%s:%s(%s)" % (path.relative_to(ROOT), node.name, ", ".join(bad)))
    assert found == []
