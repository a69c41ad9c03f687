# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A short stable digest of a value (a step's inputs): what the ledger compares to decide
whether a step was done with the same inputs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json


def fingerprint(value):
    """Sixteen hex digits of SHA-256 over ``value`` as canonical JSON (key order ignored)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
