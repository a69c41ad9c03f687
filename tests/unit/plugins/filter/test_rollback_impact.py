"""The controlled rollback's impact summary from what the assessment observed (pure)."""

from ansible_collections.golive.core.plugins.filter.rollback_impact import rollback_impact

PLAN = {"release": "R1", "environment": "lab", "changed_by_the_release": ["phase4/deploy", "phase2/migrate"],
        "summary": ["rollback/db-restore: runs"], "run": {"rollback/db-restore": True},
        "steps": [{"id": "rollback/db-restore", "run": True, "why": None}],
        "database": {"database": "pager", "backup_id": "pre-deploy-R1", "environment": "lab"}}
SERVICES = [
    {"id": "svc.pager.pager", "status": "pass", "evidence": {"service": "pager/pager"}},
    {"id": "svc.pager.api", "status": "fail", "evidence": {
        "service": "pager/api", "problems": ["0 ready Pods, 1 required"],
        "unready_pods": [{"pod": "api-1", "why": "Readiness probe failed"}], "events": ["BackOff"]}}]
OBJECTIVES = [
    {"name": "server-errors", "verdict": "failed", "threshold": "<= 0.01",
     "measurements": [{"value": 0.3, "outcome": "failure"}]},
    {"name": "failing-requests", "verdict": "failed", "threshold": "<= 0.01",
     "measurements": [{"value": 0.31}], "series": {"count": 2, "worst_first": [
         {"series": "route=/api/incidents", "value": 0.31, "beyond": True},
         {"series": "route=/healthz", "value": 0.0, "beyond": False}]}},
    {"name": "latency", "verdict": "passed", "threshold": "<= 0.5", "measurements": [{"value": 0.1}]}]
RESTORE = {"previous_database": "pager_before_20261205T101500",
           "writes_since_backup": {"method": "statistics", "tables": {"public.incidents": {"inserted": 12}}}}


def test_measured_values_and_thresholds_the_troubled_and_the_writes_kept_aside():
    impact = rollback_impact(PLAN, SERVICES, OBJECTIVES, RESTORE)
    assert impact["objectives"]["server-errors"] == {"verdict": "failed", "value": 0.3, "threshold": "<= 0.01"}
    assert impact["objectives"]["latency"]["value"] == 0.1
    assert impact["services"] == {"svc.pager.pager": "pass", "svc.pager.api": "fail"}
    assert impact["troubled"] == [
        {"service": "pager/api", "problems": ["0 ready Pods, 1 required"],
         "unready_pods": [{"pod": "api-1", "why": "Readiness probe failed"}], "events": ["BackOff"]},
        {"objective": "server-errors", "value": 0.3, "threshold": "<= 0.01"},
        {"objective": "failing-requests", "series": "route=/api/incidents", "value": 0.31, "threshold": "<= 0.01"}]
    assert impact["database"] == {"restored": True, "name": "pager", "backup_id": "pre-deploy-R1",
                                  "kept_as": "pager_before_20261205T101500",
                                  "writes_since_backup": RESTORE["writes_since_backup"]}
    assert impact["changed_by_the_release"] == ["phase4/deploy", "phase2/migrate"]


def test_a_release_that_did_not_migrate_says_why_the_database_stays():
    plan = dict(PLAN, run={"rollback/db-restore": False}, database=None,
                steps=[{"id": "rollback/db-restore", "run": False, "why": "the release did not migrate the database"}])
    impact = rollback_impact(plan, [], [], {})
    assert impact["database"] == {"restored": False, "why_not": "the release did not migrate the database"}
    assert impact["troubled"] == [] and impact["objectives"] == {}


def test_writes_that_could_not_be_counted_say_why():
    impact = rollback_impact(PLAN, [], [], {"failed": False, "msg": "Failed to find the backup: none in the bucket"})
    assert impact["database"]["not_counted"] == "Failed to find the backup: none in the bucket"
