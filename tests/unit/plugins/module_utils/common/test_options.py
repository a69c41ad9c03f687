"""Environment fallbacks as AWX fills them: an empty injected field is no value."""

import pytest
from ansible.module_utils.basic import AnsibleFallbackNotFound

from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback


def test_an_empty_variable_is_not_set(monkeypatch):
    monkeypatch.setenv("PGPORT", "")
    monkeypatch.setenv("PGHOST", "db.example.com")
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "  ")
    monkeypatch.delenv("PGUSER", raising=False)
    assert env_fallback("PGHOST") == "db.example.com"
    for names in (("PGPORT",), ("K8S_AUTH_CONTEXT",), ("PGUSER",)):
        with pytest.raises(AnsibleFallbackNotFound):
            env_fallback(*names)
    assert env_fallback("PGPORT", "PGHOST") == "db.example.com"  # the first one set
