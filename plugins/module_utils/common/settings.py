# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings objects: what a system needs to be reached (its address, credentials,
timeouts), built once at a module's edge from the task's options.

Services take a settings object and plain arguments, never a module or its
``params``: a service can then be called from a module, a benchmark or the lab
alike, and what it reads is written in one place. Each system declares its
fields as ``FIELDS``: ``(attribute, option name, default)``; secrets are listed
in ``SECRETS`` and never appear in ``repr``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Settings:
    """An immutable set of named values; ``from_params`` maps a module's options onto them."""

    FIELDS = ()
    SECRETS = ()

    def __init__(self, **values):
        names = [field[0] for field in self.FIELDS]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise TypeError("%s has no setting %s" % (type(self).__name__, ", ".join(unknown)))
        for name, _option, default in self.FIELDS:
            value = values.get(name)
            object.__setattr__(self, name, default if value is None else value)

    @classmethod
    def from_params(cls, params, **overrides):
        """The settings from a module's options (``FIELDS`` names each option), then ``overrides``."""
        values = dict((name, params.get(option)) for name, option, _default in cls.FIELDS)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes):
        """A copy with ``changes`` applied (the original is left as it is)."""
        values = self.values()
        values.update(changes)
        return type(self)(**values)

    def values(self):
        """The settings as a dict, keyed by attribute."""
        return dict((name, getattr(self, name)) for name, _option, _default in self.FIELDS)

    def __setattr__(self, name, value):
        raise AttributeError("%s is immutable; use replace()" % type(self).__name__)

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, name) == getattr(other, name) for name, _option, _default in self.FIELDS)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(tuple(repr(getattr(self, name)) for name, _option, _default in self.FIELDS))

    def __repr__(self):
        shown = []
        for name, _option, _default in self.FIELDS:
            value = getattr(self, name)
            shown.append("%s=%s" % (name, "'********'" if name in self.SECRETS and value else repr(value)))
        return "%s(%s)" % (type(self).__name__, ", ".join(shown))
