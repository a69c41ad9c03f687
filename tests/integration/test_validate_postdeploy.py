"""playbooks/validate.yml --tags postdeploy against the lab: check-only validation through the
public names as DNS answers them. It follows DNS and the application, so it runs in the
pager's group, one at a time with the tests that change them (a mark of a second group
would make a group of its own and run beside them)."""

import pytest

from helpers import recap, run_playbook

pytestmark = pytest.mark.xdist_group("pager")


def test_post_deployment_validation_is_check_only_and_runs_only_when_asked(lab):
    result = run_playbook("playbooks/validate.yml", "--tags", "postdeploy", "-v")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    counts = recap(result.stdout)
    assert counts["changed"] == 0 and counts["failed"] == 0 and counts["ok"] == 8
    for check in ("http.healthz", "http.incidents-need-a-login", "slo.error-ratio", "slo.latency-p95",
                  "tls.app.lab.example", "k8s.secrets", "k8s.images", "slo.access-logs",
                  "monitoring.targets.postgres", "monitoring.rules.golive-alerts", "monitoring.alert.lab-email",
                  "k8s.autoscaling", "k8s.dashboards"):
        assert '"id": "%s"' % check in result.stdout, check
    # Without the tag, only the connectivity play runs.
    plain = run_playbook("playbooks/validate.yml", "--check")
    assert plain.returncode == 0 and "Functional - health endpoints" not in plain.stdout
