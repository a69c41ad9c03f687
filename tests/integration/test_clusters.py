"""One release in three clusters (``python -m lab up --clusters 3``, inventories/lab-regions):
one ledger and one run lock in the home cluster, phase 4 in every cluster at once, phase 5
region by region with the canary first, the watch per region, and the emergency rollback of
one region and then of the rest. Effects are read the way a user reads them: which version
each region's router answers, what both DNS servers serve for each region's names, the
ledger's record.

On the second lab (conftest.py's second_lab), grown to three clusters for this module and
back to one afterwards."""

import json
import subprocess
import sys
import time
import uuid

import pytest

from helpers import REPO, answers, lock_holder, read_ledger, request, reset_pager, run_playbook
from lab import demo
from lab.services.app import answers as app_answers
from lab.services.sinks import messages

from second_lab import lab, lab_instance  # noqa: F401  (this module runs on the second lab)

pytestmark = pytest.mark.xdist_group("second-lab")

RELEASE = "2026.11.2-1"  # the next build of the running release: no migration, so phases 4 and 5 only
PREVIOUS = "2026.11.2"
REGIONS = ("eu-1", "us-1", "ap-1")
CANARY = "us-1"
# The lab's phase 5 without its final checks on each new site (TLS, Secrets, images, protected
# endpoints, performance, load) and the T-0 journeys, which phase 5's own tests cover: the
# approval, the waves, each region's cutover and the validation of its own traffic remain.
LEAN = json.dumps({"phase5_golive_performance_objectives": [], "phase5_golive_load_test": {},
                   "phase5_golive_tls_ingress_namespaces": [], "phase5_golive_secrets": [], "phase5_golive_images": {},
                   "phase5_golive_protected_requests": [], "phase5_golive_t0_requests": [],
                   "phase5_golive_test_notification_channels": [], "phase5_golive_traffic_count": 2,
                   "phase5_golive_traffic_interval": 1, "golive_change_id": "CHG-42", "golive_approved_by": "dana",
                   # Each region judged by the traffic sent to it (its own names): the lab's Prometheus
                   # objective is one ratio over every cluster's last minute, the broken canary's included.
                   "phase5_golive_traffic_objectives": "{{ golive_slo_objectives }}"})
# Phase 4 deploys and checks the version each cluster answers; its TLS, discovery and smoke
# checks and the third parties (the shared host's) are phase 4's own tests'.
LEAN4 = json.dumps({"phase4_application_tls_ingress_namespaces": [], "phase4_application_services": [],
                    "phase4_application_smoke_requests": [], "readiness_integrations_smtp": {},
                    "readiness_integrations_search": {}, "readiness_integrations_requests": []})
# The rollbacks bring each cluster back in one step (the steps themselves are the rollback tests').
ONE_STEP = json.dumps({"rollback_emergency_restore_steps": [100]})


@pytest.fixture(scope="module")
def regions(lab_instance):  # noqa: F811
    """The second lab with three clusters; back to one (and the home pager as it was) after."""
    endpoints = lab_instance.up(clusters=3)
    try:
        yield endpoints
    finally:
        lab_instance.up(clusters=1)
        reset_pager(lab_instance.endpoints(), lab_instance)


def play(lab_instance, playbook, environment, *args):  # noqa: F811
    return run_playbook(playbook, "-e", "@%s" % (lab_instance.state_dir / "golive_lab.yml"),
                        "-e", "golive_environment=%s" % environment, *args,
                        inventory="inventories/lab-regions", env={"GOLIVE_LAB_STATE": str(lab_instance.state_dir)},
                        timeout=600)


def version(cluster, site):
    """The version the cluster's router answers on one of its sites (None: no answer)."""
    app = cluster["app"]
    return app_answers(app["sites"][site], app["https_port"], app["hosts"][0], app["ca_file"])


def dns_answers(endpoints, name):
    """The addresses both of the zone's servers answer for ``name`` (a set of one when they agree)."""
    return set(tuple(values) for values in answers(endpoints, name).values())


def through_dns(endpoints, region):
    """The version a user of ``region`` gets: its name as both DNS servers answer it, then the router there."""
    answered = dns_answers(endpoints, "app.%s" % region)
    assert len(answered) == 1, "the two DNS servers disagree on app.%s: %s" % (region, answered)
    (addresses,) = answered
    cluster = endpoints["clusters"][region]
    site = next(name for name, address in cluster["app"]["sites"].items() if address in addresses)
    return version(cluster, site)


def steps(lab, environment):  # noqa: F811
    record = read_ledger(lab, environment, RELEASE) or {}
    return dict((s["id"], s) for s in record.get("steps") or [])


def test_one_release_in_three_regions_canary_first_then_one_region_and_the_rest_rolled_back(
        lab, lab_instance, regions):  # noqa: F811
    environment = "regions-" + uuid.uuid4().hex[:6]
    clusters = regions["clusters"]
    assert sorted(clusters) == sorted(REGIONS)
    status = subprocess.run([sys.executable, "-m", "lab", "--state-dir", str(lab_instance.state_dir), "status"],
                            cwd=REPO, capture_output=True, text=True, check=False).stdout
    assert "clusters eu-1, us-1, ap-1" in status and "k8s-us-1 pid" in status and "router-ap-1 pid" in status
    for region in REGIONS:
        assert through_dns(regions, region) == PREVIOUS

    # Phase 4 with us-1's API server stopped: us-1 fails alone, named; the others deploy.
    ctx = lab_instance.context()
    ctx.stop_process("k8s-us-1")
    try:
        failed = play(lab_instance, "playbooks/golive.yml", environment, "--tags", "phase4", "-e",
                      "golive_release=%s" % RELEASE, "-e", LEAN4)
        out = failed.stdout + failed.stderr
        assert failed.returncode != 0
        assert "failed in cluster us-1" in out and "Failed to reach the Kubernetes API" in out, out[-4000:]
        assert "failed in cluster eu-1" not in out and "failed in cluster ap-1" not in out
        recorded = steps(lab, environment)
        assert recorded["phase4/deploy@eu-1"]["status"] == recorded["phase4/deploy@ap-1"]["status"] == "done"
        assert recorded.get("phase4/deploy@us-1", {}).get("status") != "done"
        assert version(clusters["eu-1"], "old") == version(clusters["ap-1"], "old") == RELEASE
    finally:
        lab_instance.up()  # us-1's API server back (its workloads from the scenario: the running release)
    assert version(clusters["us-1"], "old") == PREVIOUS

    # The same command finishes it: us-1 deploys, the others' deploys are not repeated.
    again = play(lab_instance, "playbooks/golive.yml", environment, "--tags", "phase4", "-e",
                 "golive_release=%s" % RELEASE, "-e", LEAN4)
    assert again.returncode == 0, again.stdout[-4000:]
    assert version(clusters["us-1"], "old") == RELEASE
    recorded = steps(lab, environment)
    # Three hosts wrote the one record at once (optimistic concurrency): no step of any cluster was lost.
    assert sorted(sid for sid, step in recorded.items() if step["status"] == "done") == sorted(
        "phase4/%s@%s" % (step, region) for step in ("deploy", "health") for region in REGIONS)
    record = read_ledger(lab, environment, RELEASE)
    assert [r["status"] for r in record["runs"]] == ["failed", "finished"]

    # Phase 5 with the canary broken (its API answers 500): its traffic validation fails, its
    # records go back, and the other regions are not cut over; the notification names them.
    assert demo.switch(regions, lab_instance.state_dir, {"LAB_ERROR_RATIO": "1"}, cluster=CANARY)
    held = play(lab_instance, "playbooks/golive.yml", environment, "--tags", "phase5", "-e",
                "golive_release=%s" % RELEASE, "-e", LEAN)
    out = held.stdout
    assert held.returncode != 0
    assert "Traffic validation failed after the DNS cutover, so the cutover was reverted" in out, out[-4000:]
    for region in ("eu-1", "ap-1"):
        assert "Region %s was not cut over: region us-1 of an earlier wave did not go live. Live regions: none" % region \
            in out, out[-4000:]
    for region in REGIONS:
        assert dns_answers(regions, "app.%s" % region) == {(clusters[region]["app"]["sites"]["old"],)}
    recorded = steps(lab, environment)
    assert recorded["phase5/dns-revert@us-1"]["status"] == "done"
    assert "phase5/dns-cutover@eu-1" not in recorded and "phase5/dns-cutover@ap-1" not in recorded
    failed = [m["body"] for m in messages(regions["notify"]["sink_url"])["webhooks"]
              if m["channel"] == "events" and m["body"].get("event") == "golive-failed"
              and (m["body"].get("details") or {}).get("environment") == environment]
    # Phase 4's names the one cluster that failed; phase 5's all three (the canary, and the two held).
    assert sorted((m["details"]["phases"], sorted(m["details"]["failed"])) for m in failed) == [
        ("phase4", ["us-1"]), ("phase5", sorted(REGIONS))], failed
    assert not any("live_regions" in m["details"] for m in failed)
    assert demo.switch(regions, lab_instance.state_dir, {"LAB_ERROR_RATIO": "0"}, cluster=CANARY)

    # Phase 5 again: the canary region first, then the other two together; each validates its own traffic.
    live = play(lab_instance, "playbooks/golive.yml", environment, "--tags", "phase5", "-e",
                "golive_release=%s" % RELEASE, "-e", LEAN)
    assert live.returncode == 0, live.stdout[-5000:]
    recorded = steps(lab, environment)
    canary_done = recorded["phase5/dns-cutover@%s" % CANARY]["outcome"]["at"]
    for region in ("eu-1", "ap-1"):
        assert recorded["phase5/dns-cutover@%s" % region]["last_attempt"]["at"] >= canary_done, recorded
    for region in REGIONS:
        assert dns_answers(regions, "app.%s" % region) == {(clusters[region]["app"]["sites"]["new"],)}
        assert through_dns(regions, region) == RELEASE
    finished = [m["body"] for m in messages(regions["notify"]["sink_url"])["webhooks"]
                if m["channel"] == "events" and m["body"].get("event") == "golive-finished"
                and (m["body"].get("details") or {}).get("live_regions")
                and m["body"]["details"].get("environment") == environment]
    assert len(finished) == 1 and sorted(finished[0]["details"]["live_regions"]) == sorted(REGIONS), finished

    # Break the new version in us-1 only: its API answers 500. The watch catches it there alone.
    assert demo.switch(regions, lab_instance.state_dir, {"LAB_ERROR_RATIO": "1"}, cluster="us-1")
    app = clusters["us-1"]["app"]
    for _ in range(20):  # over five seconds: a counter's first sample is not an increase, later ones are
        for _ in range(4):
            request(app, path="/api/incidents", site="new")
        time.sleep(0.25)
    time.sleep(3)  # two scrapes
    watch = {"golive_watch": {"prometheus_url": regions["prometheus"]["url"],
                              "requests": {"selector": 'namespace="pager"{{ golive_lab_cluster_selector }}'},
                              "objectives": {"error_rate_max": 0.05}}}
    watched = play(lab_instance, "playbooks/watch.yml", environment, "-e", "release=%s" % RELEASE, "-e",
                   "window=1h", "-e", json.dumps(watch))
    out = watched.stdout
    assert watched.returncode != 0
    assert "of the watch's checks failed over the last 1h in cluster us-1" in out, out[-4000:]
    assert "in cluster eu-1:" not in out and "in cluster ap-1:" not in out, out[-4000:]
    recorded = steps(lab, environment)
    assert recorded["watch/1h@us-1"]["outcome"]["outputs"]["verdict"] == "failed"
    assert recorded["watch/1h@eu-1"]["outcome"]["outputs"]["verdict"] != "failed"

    # Roll back the broken region only: maintenance, the previous version, its records back.
    one = play(lab_instance, "playbooks/rollback_emergency.yml", environment, "-e", "release=%s" % RELEASE, "-e",
               "regions=us-1", "-e", ONE_STEP)
    assert one.returncode == 0, one.stdout[-5000:]
    assert through_dns(regions, "us-1") == PREVIOUS
    assert through_dns(regions, "eu-1") == through_dns(regions, "ap-1") == RELEASE
    recorded = steps(lab, environment)
    assert recorded["rollback/dns-revert@us-1"]["status"] == "done"
    assert not [sid for sid in recorded if sid.startswith("rollback/") and not sid.endswith("@us-1")]
    record = read_ledger(lab, environment, RELEASE)
    events = [e for e in record.get("events") or [] if e.get("event") == "rolled-back"]
    assert [(e["cluster"], e["region"], sorted(e["kept_on_the_release"])) for e in events] == [
        ("us-1", "us-1", ["ap-1", "eu-1"])]

    # Then the rest: us-1's steps are not repeated; every region serves the previous version.
    rest = play(lab_instance, "playbooks/rollback_emergency.yml", environment, "-e", "release=%s" % RELEASE, "-e",
                ONE_STEP)
    assert rest.returncode == 0, rest.stdout[-5000:]
    assert "rollback/maintenance-on@us-1" not in rest.stdout  # us-1 is not planned again
    assert all(step["attempts"] == 1 for sid, step in steps(lab, environment).items() if sid.endswith("@us-1")
               and sid.startswith("rollback/"))
    for region in REGIONS:
        assert through_dns(regions, region) == PREVIOUS
        assert version(clusters[region], "new") == PREVIOUS
    record = read_ledger(lab, environment, RELEASE)
    assert sorted(e["cluster"] for e in record["events"] if e.get("event") == "rolled-back") == [
        "ap-1", "eu-1", "us-1"]
    # Once more: nothing is left to roll back; the run is closed and the lock let go.
    again = play(lab_instance, "playbooks/rollback_emergency.yml", environment, "-e", "release=%s" % RELEASE, "-e",
                 ONE_STEP)
    assert again.returncode == 0 and "changed=" in again.stdout and "changed=1" not in again.stdout, again.stdout[-3000:]
    assert lock_holder(lab, environment) is None
    assert read_ledger(lab, environment, RELEASE)["runs"][-1]["status"] == "finished"
