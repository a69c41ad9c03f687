"""The text and payloads of a notification (pure), and the channel checks made before sending."""

import datetime

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.notify import deliver, message

EVENT = {"event": "rollback-finished", "release": "2026.11.3", "status": "success", "summary": "Rolled back",
         "details": dict(("k%02d" % i, i) for i in range(12)), "link": "https://awx.example/jobs/9"}


def test_every_shape_carries_the_release_and_the_event():
    generic = message.generic(EVENT, "2026-11-30T06:00:00Z")
    assert (generic["release"], generic["event"], generic["status"]) == ("2026.11.3", "rollback-finished", "success")
    slack = message.slack(EVENT)
    assert "2026.11.3" in slack["text"] and slack["blocks"][0]["text"]["text"].startswith("[golive] 2026.11.3")
    assert len(slack["blocks"][2]["fields"]) == message.SLACK_FIELDS  # Slack's limit per section
    subject, text = message.email_text(EVENT, "2026-11-30T06:00:00Z")
    assert subject == "[golive] 2026.11.3: rollback-finished (success)"
    assert "k11: 11" in text and "evidence: https://awx.example/jobs/9" in text


def test_lists_and_dicts_read_as_text():
    subject, text = message.email_text(dict(EVENT, details={"phases": ["phase1", "phase5"], "db": {"a": 1}}),
                                       "t")
    assert "phases: phase1, phase5" in text and "db: a=1" in text


@pytest.mark.parametrize("channels,why", [
    ([], "declare at least one channel"),
    ([{"name": "a", "type": "webhook", "url": "http://x"}, {"name": "a", "type": "slack", "url": "http://y"}],
     "channel names must be unique"),
    ([{"name": "m", "type": "email", "host": "smtp"}], "a email channel needs sender, to"),
    ([{"name": "w", "type": "webhook"}], "a webhook channel needs url"),
])
def test_channels_are_checked_before_anything_is_sent(channels, why):
    with pytest.raises(InvalidInput) as info:
        deliver.validate(channels)
    assert why in info.value.message


def test_check_mode_sends_nothing_and_returns_the_text():
    delivered, undelivered, text = deliver.notify(EVENT, [{"name": "w", "type": "webhook", "url": "http://127.0.0.1:9"}],
                                                  5, check_mode=True,
                                                  now=datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc))
    assert delivered == [] and undelivered == [] and "sent at: 2026-11-30T00:00:00Z" in text
