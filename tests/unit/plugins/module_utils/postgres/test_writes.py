"""The rows written since a backup, from the tables' write counters (pure)."""

from ansible_collections.golive.core.plugins.module_utils.postgres import writes

T0 = "2026-11-01T00:00:00+00:00"


def counters(reset=T0, **tables):
    return {"stats_reset": reset, "tables": dict((name.replace("__", "."), dict(zip(("ins", "upd", "del", "live"), v)))
                                                 for name, v in tables.items())}


def test_writes_since_the_backup_per_table_and_in_total():
    then = counters(public__incidents=(100, 5, 0, 100), public__pager_users=(3, 0, 0, 3))
    now = counters(public__incidents=(112, 8, 1, 111), public__pager_users=(3, 0, 0, 3), public__notes=(4, 0, 0, 4))
    found = writes.since(then, now)
    assert found["method"] == "statistics"
    assert found["tables"] == {"public.incidents": {"inserted": 12, "updated": 3, "deleted": 1},
                               "public.notes": {"inserted": 4, "updated": 0, "deleted": 0, "new_table": True}}
    assert found["total"] == {"inserted": 16, "updated": 3, "deleted": 1}


def test_a_statistics_reset_since_makes_them_unknown_and_says_so():
    after_reset = counters(reset="2026-11-02T00:00:00+00:00", public__t=(1, 0, 0, 10))
    found = writes.since(counters(public__t=(9, 0, 0, 9)), after_reset)
    assert found["method"] == "unknown" and found["total"] is None and "reset" in found["note"]


def test_a_backup_without_counters_is_compared_by_live_rows_against_its_row_counts():
    found = writes.since(None, counters(public__t=(0, 0, 0, 15), public__u=(0, 0, 0, 2)), {"public.t": 10, "public.u": 2})
    assert found["method"] == "estimate" and found["tables"] == {"public.t": {"net_rows": 5}}
    assert found["total"] == {"net_rows": 5}
    assert writes.since(None, counters())["method"] == "unknown"


def test_counters_read_through_a_query_function():
    import datetime
    rows = {writes.RESET_SQL: [{"stats_reset": datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)}],
            writes.COUNTERS_SQL: [{"name": "public.t", "ins": 3, "upd": None, "del": 1, "live": 2}]}
    assert writes.counters(rows.get) == {"stats_reset": T0, "tables": {"public.t": {"ins": 3, "upd": 0, "del": 1,
                                                                                    "live": 2}}}
