# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""UTC time in the one text form the collection writes (RFC 3339, seconds, ``Z``).

Services take ``now`` as an argument where a decision depends on it, so pure code can be
table-tested; ``utcnow`` is for the edges.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

UTC = datetime.timezone.utc


def utcnow():
    """The current UTC time, to the second."""
    return datetime.datetime.now(UTC).replace(microsecond=0)


def format_time(value):
    """``2026-11-22T05:01:02Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """An aware datetime from RFC 3339 text (``Z`` or an offset, optional fractions);
    ``None`` for empty text. Raises ``ValueError`` for anything else."""
    if not text:
        return None
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
