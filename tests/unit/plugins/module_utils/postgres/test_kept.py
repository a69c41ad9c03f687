"""Which kept databases a prune drops, keeps or refuses to drop (pure)."""

import datetime
import json

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.postgres import kept

NOW = datetime.datetime(2026, 12, 10, 12, 0, 0, tzinfo=datetime.timezone.utc)


def entry(name, comment=None):
    return kept.describe({"name": name, "size": 100, "comment": comment, "sessions": 0}, "shop")


NAMED = json.dumps({"kept_by": "golive.core", "release": "2026.11.3", "backup_id": "b1",
                    "writes_since_backup": {"inserted": 4, "updated": 0, "deleted": 0}})
COPIES = [entry("shop_before_20261209120000"),            # 1 day
          entry("shop_before_20261201120000", NAMED),     # 9 days, a rollback's
          entry("shop_before_20261101120000"),            # 39 days
          entry("shop_before_20261001120000", NAMED)]     # 70 days, a rollback's


def actions(planned):
    return [(e["name"][-14:-6], e["action"]) for e in planned]


@pytest.mark.parametrize("keep,older_than,drop_named,expected", [
    (1, None, False, [("20261209", "keep"), ("20261201", "refused"), ("20261101", "drop"), ("20261001", "refused")]),
    (1, None, True, [("20261209", "keep"), ("20261201", "drop"), ("20261101", "drop"), ("20261001", "drop")]),
    (None, 30 * 86400, False, [("20261209", "keep"), ("20261201", "keep"), ("20261101", "drop"),
                               ("20261001", "refused")]),
    (3, 30 * 86400, True, [("20261209", "keep"), ("20261201", "keep"), ("20261101", "keep"), ("20261001", "drop")]),
    (0, None, False, [("20261209", "drop"), ("20261201", "refused"), ("20261101", "drop"), ("20261001", "refused")]),
])
def test_retention(keep, older_than, drop_named, expected):
    assert actions(kept.plan(COPIES, NOW, keep, older_than, drop_named)) == expected


def test_no_retention_or_a_bad_one_is_refused():
    with pytest.raises(InvalidInput):
        kept.plan(COPIES, NOW)
    with pytest.raises(InvalidInput):
        kept.plan(COPIES, NOW, keep=-1)
    for bad in ("30", "thirty days", "5y", ""):
        with pytest.raises(InvalidInput):
            kept.seconds_of(bad)
    assert kept.seconds_of("30d") == 2592000 and kept.seconds_of(" 12h ") == 43200 and kept.seconds_of(None) is None


def test_what_a_copy_says_about_itself():
    named, at = entry("shop_before_20261201120000", NAMED)
    assert named["named_by_a_rollback"] and named["release"] == "2026.11.3" and at.day == 1
    assert named["writes_since_backup"] == {"inserted": 4, "updated": 0, "deleted": 0}
    plain = entry("shop_before_20261201120000", "a note somebody wrote")[0]
    assert plain["named_by_a_rollback"] is False and "release" not in plain


@pytest.mark.parametrize("name,database,belongs", [
    ("shop_before_20261201120000", "shop", True),
    ("shopping_before_20261201120000", "shop", False),
    ("shop_before_2026120112", "shop", False),
    ("shop_restoring_20261201120000", "shop", False),
    ("a" * 41 + "_before_20261201120000", "a" * 60, True),   # a long name shortened to fit 63 characters
    ("a" * 40 + "_before_20261201120000", "a" * 60, False),
])
def test_belongs(name, database, belongs):
    assert kept.belongs(name, database) is belongs
