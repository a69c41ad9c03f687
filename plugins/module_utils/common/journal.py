# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal a service is handed to record its step, and the one that records nothing.

A service never imports the ledger. It describes its step to the journal it is given:

    with journal.step(inputs, pending=bool(changes), objects=..., undo=..., before=...) as outcome:
        ...the effect...
        outcome.update(changed=..., after=...)

The ledger's journal (``ledger.run.StepRecorder``) decides whether to write, writes the
intent before the effect and the outcome after it. ``done_before(inputs)``,
``interrupted()``, ``recorded_undo(...)``, ``left_by(module)`` and ``outputs_of(module)`` read what the release's
record holds. ``NoJournal`` is what a module run without the ``ledger`` option hands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NoJournal:
    """The journal of a module run without the ``ledger`` option: it records nothing."""

    decision = None
    step_id = None

    def record(self):
        return {}

    def previous(self):
        return None

    def done_before(self, inputs):
        return False

    def interrupted(self):
        return None

    def recorded_undo(self, module_name, state=None, step=None):
        return None

    def left_by(self, module_name):
        return None

    def outputs_of(self, module_name, **match):
        return None

    def step(self, inputs, pending=True, objects=None, undo=None, before=None):
        return _NoStep()

    def summary(self):
        return None


class _NoStep:
    def __enter__(self):
        return {}

    def __exit__(self, kind, error, trace):
        return False
