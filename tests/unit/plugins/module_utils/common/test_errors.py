from ansible_collections.golive.core.plugins.module_utils.common import errors


def test_message_names_verb_object_cause_and_fix():
    exc = errors.AuthenticationFailed("connect to", "PostgreSQL at db:5432", "password authentication failed",
                                      fix="Check login_password")
    assert exc.message == ("Failed to connect to PostgreSQL at db:5432: password authentication failed. "
                           "Check login_password")
    assert str(exc) == exc.message


def test_retryable_defaults_per_class_and_override():
    assert errors.ConnectionFailed("a", "b", "c").retryable is True
    assert errors.AuthenticationFailed("a", "b", "c").retryable is False
    assert errors.BackendError("a", "b", "c", retryable=True).retryable is True


def test_partial_result_is_copied():
    partial = {"checks": []}
    exc = errors.GoliveError("apply", "x", "y", result=partial)
    exc.result["extra"] = 1
    assert "extra" not in partial


def test_describe_exception_keeps_first_line_or_class_name():
    assert errors.describe_exception(ValueError("first\nsecond")) == "first"
    assert errors.describe_exception(KeyError()) == "KeyError"


def test_libpq_noise_is_stripped_and_auth_is_classified():
    import psycopg2
    from ansible_collections.golive.core.plugins.module_utils.postgres.connection import PgServer, classify
    params = PgServer.from_params({"login_host": "db", "login_port": 6432, "login_db": "app", "login_user": "app"})
    exc = classify(psycopg2.OperationalError(
        'connection to server at "db", port 6432 failed: FATAL:  SASL authentication failed'), params)
    assert isinstance(exc, errors.AuthenticationFailed)
    assert exc.message == ("Failed to connect to PostgreSQL at db:6432 (database app, user app): "
                           "SASL authentication failed. Check login_user and login_password (or PGUSER/PGPASSWORD)")
    refused = classify(psycopg2.OperationalError(
        'connection to server at "db", port 6432 failed: Connection refused'), params)
    assert isinstance(refused, errors.ConnectionFailed) and refused.retryable
