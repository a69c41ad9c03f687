# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module entry point shares: library guards, running one service call,
and turning the collection's errors into ``fail_json`` without a traceback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.golive.core.plugins.module_utils.common.checks import (
    UNDECLARED,
    failure_message,
    redact,
    summarize,
)
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput


def require_libs(module, libs):
    """Fail the task cleanly when a Python library it needs is missing.

    ``libs`` is a list of ``(pip_name, import_error_traceback_or_None)``.
    """
    for pip_name, error in libs:
        if error is not None:
            module.fail_json(msg=missing_required_lib(pip_name), exception=error)


def url_passwords(value):
    """The user-info of every URL written into ``value`` (an option's string, list or dict)."""
    found = []
    if isinstance(value, dict):
        for item in value.values():
            found.extend(url_passwords(item))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found.extend(url_passwords(item))
    elif isinstance(value, str) and "://" in value and "@" in value:
        for match in _URL_USERINFO.finditer(value):
            userinfo = match.group(1)
            found.append(userinfo)
            if ":" in userinfo and userinfo.split(":", 1)[1]:
                found.append(userinfo.split(":", 1)[1])
    return found


_URL_USERINFO = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://([^/\s?#]*)@")


def modes(module):
    """The task's check and diff modes, as keyword arguments for the services' edges."""
    return {"check_mode": module.check_mode, "diff": module._diff}


def secret_values(module):
    """Values of every ``no_log`` option the task received (to mask in results)."""
    values = []
    for name, spec in module.argument_spec.items():
        if spec.get("no_log") and isinstance(module.params.get(name), str):
            values.append(module.params[name])
        value = module.params.get(name)
        items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
        for item in items if spec.get("options") else []:
            for sub, sub_spec in spec["options"].items():
                val = item.get(sub) if isinstance(item, dict) else None
                if sub_spec.get("no_log") and isinstance(val, str):
                    values.append(val)
                elif sub_spec.get("no_log") and isinstance(val, dict):
                    values.extend(v for v in val.values() if isinstance(v, str))
    return values


# The option of every module that answers with checks (doc fragment ``golive.core.checks``).
CHECKS_ARGUMENT_SPEC = dict(fail_on_failed_checks=dict(type="bool", default=True),
                            checklist_also=dict(type="list", elements="str", default=[]))


def add_checklist_items(result, items):
    """Every check of ``result`` also quotes ``items`` (a re-check at T+1 hour quoting its row),
    except those of sections nobody declared."""
    for record in result.get("checks") or []:
        if (record.get("evidence") or {}).get("reason") == UNDECLARED:
            continue
        own = record.get("checklist")
        own = [] if own is None else own if isinstance(own, list) else [own]
        record["checklist"] = own + [item for item in items if item not in own]
    return result


def finish_checks(result, fail_on_failed=True, subject="checks"):
    """Add ``summary`` (and ``failed``/``msg`` when a check failed) to a check result."""
    checks = result.get("checks", [])
    result["summary"] = summarize(checks)
    message = failure_message(checks, subject)
    if message:
        result["msg"] = message
        if fail_on_failed:
            result["failed"] = True
    return result


# Numeric options every module judges the same way, wherever they appear (at the top level
# or inside a list or dict option): ``name: (lowest, highest, lowest allowed?, what it is)``.
RANGES = {
    "timeout": (0, None, False, "a number of seconds above 0"),
    "request_timeout": (0, None, False, "a number of seconds above 0"),
    "aws_timeout": (0, None, False, "a number of seconds above 0"),
    "connect_timeout": (0, None, False, "a number of seconds above 0"),
    "count": (1, None, True, "1 or more"),
    "concurrency": (1, None, True, "1 or more"),
    "interval": (0, None, True, "0 or more seconds"),
    "min_days": (0, None, True, "0 or more days"),
    "min_ready": (0, None, True, "0 or more"),
    "lease_seconds": (1, None, True, "1 or more seconds"),
    "jobs": (1, None, True, "1 or more"),
    "keep": (0, None, True, "0 or more"),
    "max_error_ratio": (0, 1, True, "a ratio between 0 and 1"),
    "max_p95_ms": (0, None, False, "a number of milliseconds above 0"),
    "percent": (0, 100, True, "a percentage, 0 to 100"),
    "ttl": (0, 2 ** 31 - 1, True, "0 to 2147483647 seconds (RFC 2181)"),
    "lower_ttl": (0, 2 ** 31 - 1, True, "0 to 2147483647 seconds (RFC 2181)"),
    "weight": (0, 255, True, "0 to 255"),
}


def out_of_range(params, where=""):
    """The numeric options of ``params`` outside ``RANGES`` (pure): ``[text]`` naming each."""
    found = []
    items = params.items() if isinstance(params, dict) else []
    for name, value in items:
        path = "%s%s" % (where, name)
        if isinstance(value, dict):
            found.extend(out_of_range(value, path + "."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    found.extend(out_of_range(item, "%s[%d]." % (path, index)))
        elif name in RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high, inclusive, what = RANGES[name]
            if (value < low if inclusive else value <= low) or (high is not None and value > high):
                found.append("%s is %s; it is %s" % (path, "%g" % value if isinstance(value, float) else value, what))
    return found


def run(module, service, *args, **kwargs):
    """Call one service function and exit the module with its result.

    ``GoliveError`` becomes ``fail_json`` with the error's message and any partial
    result; every returned value is masked against the task's secret options. A
    ``warnings`` list in the result is shown as Ansible warnings.
    """
    # A password written into a URL of any option is masked wherever the result shows it (its
    # echo of the task's arguments included), as a no_log option's value is.
    for found in url_passwords(module.params):
        if len(found) >= 3:
            module.no_log_values.add(found)
    secrets = secret_values(module)
    bad = out_of_range(module.params)
    if bad:
        module.fail_json(msg="Failed to use the task's options: %s. Nothing was changed" % "; ".join(bad),
                         changed=False)
    try:
        result = service(*args, **kwargs)
    except GoliveError as exc:
        partial = redact(exc.result, secrets)
        partial.pop("msg", None)
        partial.pop("failed", None)
        partial.setdefault("changed", False)
        for warning in partial.pop("warnings", None) or []:  # AnsibleModule.warn, not a result key
            module.warn(warning)
        module.fail_json(msg=redact(exc.message, secrets), **partial)
    result = redact(result, secrets)
    if module.params.get("checklist_also"):
        add_checklist_items(result, module.params["checklist_also"])
    result.setdefault("changed", False)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if result.pop("failed", False):
        message = result.pop("msg", None) or "Failed; see the result for details"
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


def require_options(params, needs, selector):
    """Raise ``InvalidInput`` when a chosen item of list option ``selector`` lacks its options.

    ``needs`` maps an item (for example ``s3``) to the options it requires.
    """
    chosen = params.get(selector) or []
    missing = []
    for item in chosen:
        for option in needs.get(item, []):
            if params.get(option) in (None, ""):
                missing.append("%s (needed by %s)" % (option, item))
    if missing:
        raise InvalidInput("validate", "the task's options", "missing " + ", ".join(missing))
