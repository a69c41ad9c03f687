"""A release run in several clusters (one inventory host each): its steps are recorded per
cluster in one record, and the emergency rollback is planned per cluster, restoring the
shared database only when no cluster is left on the release."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import Refused
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger import rollback
from ansible_collections.golive.core.plugins.module_utils.ledger.run import StepRecorder

from test_rollback_plan import DEPLOY_UNDO, DNS_UNDO, MIGRATE_UNDO, T, record

CLUSTERS = {"eu-1": "eu-1", "us-1": "us-1", "ap-1": "ap-1"}
REGIONAL = ([("phase2/migrate", rec.DONE, True, MIGRATE_UNDO)]
            + [("phase4/deploy@%s" % c, rec.DONE, True, DEPLOY_UNDO) for c in CLUSTERS]
            + [("phase5/dns-cutover@%s" % c, rec.DONE, True, DNS_UNDO) for c in CLUSTERS])


def rolled_back(r, cluster):
    for name in ("maintenance-on", "scale-down", "redeploy", "scale-up-50", "scale-up-100", "maintenance-off",
                 "dns-revert"):
        r = rec.begin_step(r, "rollback", "%s@%s" % (name, cluster), "run-2", "f", T)
        r = rec.finish_step(r, "rollback", "%s@%s" % (name, cluster), "run-2", rec.DONE, T)
    return rec.add_event(r, "run-2", "rolled-back", T, {"cluster": cluster, "region": cluster})


@pytest.mark.parametrize("sid, cluster", [
    ("phase4/deploy@us-1", "us-1"), ("rollback/scale-up-50@ap-1", "ap-1"), ("phase2/migrate", None), (None, None)])
def test_a_step_id_names_its_cluster(sid, cluster):
    assert rec.cluster_of(sid) == cluster


def test_the_clusters_of_a_record_in_the_order_they_appear():
    assert rec.clusters(record(*REGIONAL)) == ["eu-1", "us-1", "ap-1"]
    assert rec.in_cluster("deploy", "us-1") == "deploy@us-1" and rec.in_cluster("deploy", None) == "deploy"


def test_a_single_cluster_plan_is_as_before():
    plan = rollback.emergency_plan(record(("phase4/deploy", rec.DONE, True, DEPLOY_UNDO)))
    assert plan["cluster"] is None and plan["run"]["rollback/redeploy"]
    assert [s["id"] for s in plan["steps"]][:2] == ["rollback/maintenance-on", "rollback/scale-down"]


def test_every_cluster_is_rolled_back_and_the_shared_host_restores_the_database():
    plan = rollback.emergency_plan(record(*REGIONAL), clusters=CLUSTERS, shared="eu-1")
    assert sorted(plan["clusters"]) == ["ap-1", "eu-1", "us-1"] and plan["selected"] == ["eu-1", "us-1", "ap-1"]
    assert plan["partial"] is False and plan["kept"] == []
    us = plan["clusters"]["us-1"]
    assert [s["id"] for s in us["steps"]][:4] == [
        "rollback/maintenance-on@us-1", "rollback/scale-down@us-1", "rollback/db-restore", "rollback/redeploy@us-1"]
    assert us["run"]["rollback/dns-revert"] and not us["run"]["rollback/db-restore"]
    assert "restored by the rollback of eu-1" in dict((s["id"], s["why"]) for s in us["steps"])["rollback/db-restore"]
    eu = plan["clusters"]["eu-1"]
    assert eu["run"]["rollback/db-restore"] and eu["database"]["backup_id"] == "pre-deploy-R1"
    assert sorted(eu["changed_by_the_release"]) == ["phase2/migrate", "phase4/deploy@eu-1", "phase5/dns-cutover@eu-1"]


def test_one_region_is_rolled_back_and_the_database_kept_for_the_others():
    plan = rollback.emergency_plan(record(*REGIONAL), clusters=CLUSTERS, shared="eu-1", regions=["us-1"])
    assert plan["selected"] == ["us-1"] and plan["kept"] == ["eu-1", "ap-1"] and plan["partial"]
    assert plan["clusters"]["us-1"]["run"]["rollback/redeploy"]
    eu = plan["clusters"]["eu-1"]
    assert not eu["run"]["rollback/db-restore"] and eu["database"] is None
    assert "clusters eu-1, ap-1 still run the release" in dict(
        (s["id"], s["why"]) for s in eu["steps"])["rollback/db-restore"]


def test_the_rest_after_a_regional_rollback_restores_the_database():
    r = rolled_back(record(*REGIONAL), "us-1")
    plan = rollback.emergency_plan(r, clusters=CLUSTERS, shared="eu-1")
    assert plan["rolled_back"] == ["us-1"] and plan["kept"] == [] and not plan["partial"]
    assert plan["selected"] == ["eu-1", "ap-1"]
    assert plan["clusters"]["eu-1"]["run"]["rollback/db-restore"]
    assert not any(plan["clusters"]["us-1"]["run"].values())
    # Two regions of three, after the third was rolled back: nothing is left on the release either.
    plan = rollback.emergency_plan(r, clusters=CLUSTERS, shared="eu-1", regions=["eu-1", "ap-1"])
    assert not plan["partial"] and plan["clusters"]["eu-1"]["run"]["rollback/db-restore"]


def test_a_cluster_whose_rollback_stopped_before_its_end_is_rolled_back_again():
    r = rolled_back(record(*REGIONAL), "us-1")
    r["events"] = [e for e in r["events"] if e.get("event") != "rolled-back"]  # killed before the validation
    plan = rollback.emergency_plan(r, clusters=CLUSTERS, shared="eu-1", regions=["us-1"])
    assert plan["selected"] == ["us-1"] and plan["rolled_back"] == []
    assert not any(plan["clusters"]["us-1"]["run"].values())  # every step done: only the validation is left


def test_an_unknown_region_is_refused_and_a_cluster_the_inventory_lacks_is_named():
    with pytest.raises(Refused, match="no cluster of the inventory is in region mars-1"):
        rollback.emergency_plan(record(*REGIONAL), clusters=CLUSTERS, shared="eu-1", regions=["mars-1"])
    plan = rollback.emergency_plan(record(*REGIONAL), clusters={"eu-1": "eu-1", "us-1": "us-1"}, shared="eu-1")
    assert plan["not_in_inventory"] == ["ap-1"] and plan["kept"] == ["ap-1"]
    assert not plan["clusters"]["eu-1"]["run"]["rollback/db-restore"]


class _Ledger:
    def __init__(self, record):
        self._record = record

    def read(self):
        return self._record


def test_a_cluster_step_reads_back_only_its_own_cluster():
    r = record(("rollback/scale-down@us-1", rec.DONE, True, {"module": "golive.core.k8s_workloads",
                                                             "state": "restored", "cluster": "us"}),
               ("rollback/scale-down@eu-1", rec.DONE, True, {"module": "golive.core.k8s_workloads",
                                                             "state": "restored", "cluster": "eu"}))
    eu = StepRecorder(_Ledger(r), "run-3", "rollback", "scale-up-50", cluster="eu-1")
    assert eu.step_id == "rollback/scale-up-50@eu-1"
    assert eu.recorded_undo("golive.core.k8s_workloads", "restored")["cluster"] == "eu"
    assert eu.recorded_undo(None, step="rollback/scale-down")["cluster"] == "eu"
    alone = StepRecorder(_Ledger(r), "run-3", "rollback", "scale-up-50")
    assert alone.recorded_undo("golive.core.k8s_workloads", "restored") is None


def _at(r, sid, at):
    for s in r["steps"]:
        if s["id"] == sid:
            s.setdefault("outcome", {})["at"] = at
    return r


def test_a_region_is_live_when_its_cutover_is_done_after_any_revert_and_nothing_rolled_it_back():
    r = record(*REGIONAL[:4], ("phase5/dns-cutover@us-1", rec.DONE, True, DNS_UNDO),
               ("phase5/dns-cutover@eu-1", rec.STARTED, None, DNS_UNDO))
    assert rec.live_clusters(r) == ["us-1"]
    # us-1 reverted (its validation failed): not live; cut over again later: live again.
    r = record(*REGIONAL[:4], ("phase5/dns-cutover@us-1", rec.DONE, True, DNS_UNDO),
               ("phase5/dns-revert@us-1", rec.DONE, True, None))
    r = _at(_at(r, "phase5/dns-cutover@us-1", "2026-12-01T10:00:00Z"), "phase5/dns-revert@us-1", "2026-12-01T10:01:00Z")
    assert rec.live_clusters(r) == []
    r = _at(r, "phase5/dns-cutover@us-1", "2026-12-01T10:05:00Z")
    assert rec.live_clusters(r) == ["us-1"]
    assert rec.live_clusters(rolled_back(r, "us-1")) == []
