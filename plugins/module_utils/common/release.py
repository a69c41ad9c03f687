# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for a release id (and an environment name): it names objects in the
cluster (the ledger's ConfigMaps and their labels), so it is what a Kubernetes label value
may be. Playbooks ask it through the ``golive.core.release_id`` test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

RELEASE_ID = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
RULE = "1-63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"


def is_release_id(value):
    """Whether ``value`` is a release id (a string that follows ``RULE``)."""
    return isinstance(value, str) and RELEASE_ID.fullmatch(value) is not None
