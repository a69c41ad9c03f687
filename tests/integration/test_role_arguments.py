"""Every role checks its variables against meta/argument_specs.yml before anything runs:
a wrong value fails the phase at its first task, naming the variable."""

import pytest
from helpers import run_playbook


CASES = [
    ("phase1", "phase1_infrastructure_preflight_timeout=soon", "phase1_infrastructure_preflight_timeout",
     "Preflight"),
    ("phase2", "phase2_database_rto_seconds=fast", "phase2_database_rto_seconds", "Require a direct admin connection"),
    ("phase3", "phase3_cache_backup_source=primary", "phase3_cache_backup_source must be one of: master, replica",
     "Check the health of Redis"),
    ("phase4", "phase4_application_kinds=[Pod]", "phase4_application_kinds", "Deploy application pods"),
    ("phase5", "phase5_golive_dns_provider=bind", "phase5_golive_dns_provider", "Require an approval"),
]


@pytest.mark.parametrize("tag,variable,named,first_task", CASES, ids=[c[0] for c in CASES])
def test_a_wrong_variable_fails_before_anything_runs(lab, tag, variable, named, first_task):
    proc = run_playbook("playbooks/golive.yml", "--check", "--tags", tag, "-e", "golive_release=args-check",
                        "-e", variable)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Validation of arguments failed" in out and named in out
    assert "Validating arguments against arg spec 'main'" in out
    assert first_task not in out, "a task of the phase ran before its variables were checked"
