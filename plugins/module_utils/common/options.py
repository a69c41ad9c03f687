# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How options fall back on the environment.

AWX and Automation Controller inject every field of a credential type into the job's
environment, an optional field left empty as an empty string: ``PGPORT=""``,
``K8S_AUTH_CONTEXT=""``. An empty variable therefore means "not set", as the field's label
says, and the option keeps its default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleFallbackNotFound


def env_fallback(*names, **kwargs):
    """The first of ``names`` set to a non-empty value in the environment (for an option's
    ``fallback``); an empty or absent variable is no value."""
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip() != "":
            return value
    raise AnsibleFallbackNotFound
