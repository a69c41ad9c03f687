"""golive.core.notify against the lab's sinks: what the webhook receiver and the SMTP server
(STARTTLS, AUTH) received, retries of a flaky receiver, a receiver that stays down, a refused
login, check mode, and the ledger keeping a resumed run from announcing twice. No URL token
or password appears in the output, even at -vvv."""

import uuid

from lab.services.sinks import messages
from helpers import run_tasks as run


def channels(lab, prefix="", password=None, token="tok-" + uuid.uuid4().hex):
    n = lab["notify"]
    return [
        {"name": "hook", "type": "webhook", "url": "%s/%sgeneric" % (n["webhook_url"], prefix),
         "headers": {"Authorization": "Bearer " + token}},
        {"name": "chat", "type": "slack", "url": "%s/%sslack-%s" % (n["webhook_url"], prefix, token)},
        {"name": "mail", "type": "email", "host": n["smtp_host"], "port": n["smtp_port"], "username": n["smtp_user"],
         "password": password or n["smtp_password"], "ca_file": n["ca_file"], "sender": "golive@lab.example",
         "to": ["oncall@lab.example"]},
    ]


def received(lab, release):
    got = messages(lab["notify"]["sink_url"])
    hooks = [m for m in got["webhooks"] if release in str(m["body"])]
    mail = [m for m in got["mail"] if release in m["subject"]]
    return hooks, mail


def test_every_channel_receives_the_event_once_per_release_with_the_ledger(lab, tmp_path):
    release, environment = "2026.11.%s" % uuid.uuid4().hex[:6], "itest-" + uuid.uuid4().hex[:6]
    token = "tok-" + uuid.uuid4().hex
    args = {"event": "golive-started", "release": release, "status": "info", "summary": "Go-live started",
            "details": {"change": "CHG-1", "phases": ["phase1", "phase5"]}, "link": "https://awx.example/jobs/7",
            "channels": channels(lab, token=token),
            "ledger": {"release": release, "environment": environment, "run_id": "{{ r0.run_id }}"}}
    opened = {"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                     "environment": environment}}
    proc, out = run(tmp_path, opened, {"name": "Check", "golive.core.notify": args, "check_mode": True},
                    {"name": "Send", "golive.core.notify": args}, {"name": "Again", "golive.core.notify": args},
                    extra=["-vvv", "--diff"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    _, check, sent, again = out
    assert check["would_send_to"] == ["hook", "chat", "mail"] and not check["delivered"] and check["sent"] is False
    assert [d["channel"] for d in sent["delivered"]] == ["hook", "chat", "mail"] and sent["sent"] is True
    assert again["sent"] is False and "already sent" in again["skipped_reason"]
    assert not any(r["changed"] for r in (check, sent, again))  # telling people changes no managed system

    hooks, mail = received(lab, release)
    generic = [h for h in hooks if h["channel"] == "generic"]
    slack = [h for h in hooks if h["channel"].startswith("slack-")]
    assert len(generic) == 1 and len(slack) == 1 and len(mail) == 1  # once: check mode and the re-run sent nothing
    body = generic[0]["body"]
    assert body["release"] == release and body["event"] == "golive-started" and body["details"]["change"] == "CHG-1"
    assert generic[0]["authorized"] is True
    assert release in slack[0]["body"]["text"] and slack[0]["body"]["blocks"][0]["type"] == "header"
    assert mail[0]["tls"] is True and mail[0]["login"] == lab["notify"]["smtp_user"]
    assert "change: CHG-1" in mail[0]["body"] and mail[0]["to"] == ["oncall@lab.example"]
    for secret in (token, lab["notify"]["smtp_password"]):
        assert secret not in proc.stdout and secret not in proc.stderr


def test_a_flaky_receiver_is_retried_and_a_dead_one_is_named_without_its_url(lab, tmp_path):
    release = "2026.11.%s" % uuid.uuid4().hex[:6]
    base = {"event": "rollback-started", "release": release, "status": "warning", "summary": "Rollback started"}
    # A path of its own: the sink counts the failures of each path for as long as it runs.
    flaky = dict(base, channels=[dict(channels(lab, prefix="fail-2/")[0], name="flaky",
                                      url="%s/fail-2/generic-%s" % (lab["notify"]["webhook_url"], uuid.uuid4().hex))])
    token = "tok-" + uuid.uuid4().hex
    dead = dict(base, timeout=3, channels=[{"name": "dead", "type": "slack",
                                           "url": "%s/down/%s" % (lab["notify"]["webhook_url"], token)}])
    proc, out = run(tmp_path, {"name": "Flaky", "golive.core.notify": flaky},
                    {"name": "Dead, warn only", "golive.core.notify": dict(dead, fail_on_error=False)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert out[0]["delivered"] == [{"channel": "flaky", "type": "webhook", "attempts": 3}]
    assert out[1]["undelivered"][0]["channel"] == "dead" and "HTTP 503" in out[1]["undelivered"][0]["error"]
    assert "[WARNING]: Failed to notify dead" in proc.stdout + proc.stderr

    proc, _ = run(tmp_path, {"name": "Dead", "golive.core.notify": dead}, extra=["-vvv"])
    assert proc.returncode != 0
    assert "Failed to notify dead: Failed to deliver to the webhook of channel dead: HTTP 503 (gave up after" \
        in proc.stdout
    assert token not in proc.stdout and token not in proc.stderr


def test_a_refused_smtp_login_fails_clearly_and_sends_nothing(lab, tmp_path):
    release = "2026.11.%s" % uuid.uuid4().hex[:6]
    wrong = "wrong-" + uuid.uuid4().hex
    args = {"event": "golive-failed", "release": release, "status": "failure", "summary": "Phase 4 failed",
            "channels": [channels(lab, password=wrong)[2]]}
    proc, _ = run(tmp_path, {"name": "Refused", "golive.core.notify": args}, extra=["-vvv"])
    assert proc.returncode != 0
    assert "the server refused the login of golive-notify (535)" in proc.stdout
    assert "check the channel's username and password" in proc.stdout
    assert wrong not in proc.stdout and wrong not in proc.stderr
    assert received(lab, release) == ([], [])


def test_a_channel_without_what_it_needs_is_refused_before_sending(lab, tmp_path):
    release = "2026.11.%s" % uuid.uuid4().hex[:6]
    args = {"event": "golive-started", "release": release, "summary": "x",
            "channels": [channels(lab)[0], {"name": "mail", "type": "email", "host": "127.0.0.1"}]}
    proc, _ = run(tmp_path, {"name": "Incomplete", "golive.core.notify": args})
    assert proc.returncode != 0
    assert "Failed to notify channel mail: a email channel needs sender, to" in proc.stdout
    assert received(lab, release) == ([], [])
    # What a rollback does: a broken channel declaration is a warning, never a stop.
    proc, out = run(tmp_path, {"name": "Incomplete, warn only", "golive.core.notify": dict(args, fail_on_error=False)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert out[0]["changed"] is False and [u["channel"] for u in out[0]["undelivered"]] == ["hook", "mail"]
    assert "[WARNING]: Failed to notify channel mail" in proc.stdout + proc.stderr
    assert received(lab, release) == ([], [])
