# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checklist mapping of ``docs/checklist.md``, read as data (controller side, pure).

Every table row under a ``## <checklist>`` / ``### <section>`` heading is one item of a seed
checklist: ``| Item | How | Evidence / reason |``. The ``How`` cell starts with
``automated``, ``planned`` or ``manual``; the check ids and ledger steps it names in
backticks are what the report matches a run's checks against. ``<name>`` in an id stands for
any one or more characters (``slo.<objective>``, ``rollback/scale-up-<percent>``), but never
right after a family whose ids the inventory names (``http.<name>`` would take every HTTP
probe of the run as evidence for the row): those rows name their ids, or the checks quote
the row in their ``checklist`` field.

A row under a rollback section takes evidence only from the rollback's phases, and a rollback
phase's checks (its verification included) fill no other row.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# The collection's own mapping (``docs/checklist.md``), next to its plugins.
DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "checklist.md")

HOWS = ("automated", "planned", "manual")
# Check-id families the modules emit, and the ledger's phase/step ids (monitoring.* and notify.* rows
# take their evidence from the checks quoting them: a `monitoring.targets.<job>` pattern would
# take every job's target as evidence for each row).
CHECK_ID = re.compile(r"^(approval|connectivity|dns|http|k8s|load|pg|prom|redis|slo|svc|tls|watch)\.[a-z0-9_.<>*:-]+$")
STEP_ID = re.compile(r"^(phase[1-5]|rollback|notify)/[a-z0-9<>-]+$")
# Families whose ids are named by the inventory: a placeholder right after them matches anything.
GENERIC_FAMILIES = ("http", "prom")
# The report's phases of a rollback run (``report.phase_of``).
ROLLBACK_PHASES = ("rollback", "rollback-controlled", "rollback-validation")
_CODE = re.compile(r"`([^`]+)`")


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split(" | ")]


def _plain(text):
    """A cell without Markdown emphasis and code marks."""
    return re.sub(r"[*`]", "", text).strip()


def pattern(token):
    """The regex a documented id stands for (``http.<name>`` matches ``http.health``)."""
    parts = re.split(r"(<[^>]+>|\*)", token)
    return re.compile("^%s$" % "".join(".+" if p.startswith("<") or p == "*" else re.escape(p) for p in parts if p))


def ids_of(how):
    """The check ids and ledger steps a ``How`` cell names (as written, with placeholders);
    ids named after ``planned:`` are not built yet and are left out."""
    found = []
    for token in _CODE.findall(how.split("planned:")[0]):
        token = token.strip()
        if (CHECK_ID.match(token) or STEP_ID.match(token)) and token not in found:
            if re.match(r"^(%s)\.(<|\*)" % "|".join(GENERIC_FAMILIES), token):
                raise ValueError("`%s` would take every check of its family as evidence: name the check ids, or "
                                 "let the checks quote the row in their checklist field" % token)
            found.append(token)
    return found


def quoted(record):
    """The items a check record's ``checklist`` field quotes (one string, or a list)."""
    value = record.get("checklist")
    items = value if isinstance(value, list) else [value]
    return [str(v).strip().lower() for v in items if v]


def parse(text):
    """The rows of the mapping, in document order.

    Each row: ``{key, checklist, section, subsection, item, how, detail, reason, partial, ids}``
    where ``how`` is one of ``HOWS`` and ``key`` is unique (``<n>`` in document order).
    """
    rows = []
    checklist = section = subsection = None
    for line in text.splitlines():
        if line.startswith("## "):
            checklist, section, subsection = line[3:].strip(), None, None
        elif line.startswith("### "):
            section, subsection = line[4:].strip(), None
        elif line.startswith("#### "):
            subsection = line[5:].strip()
        elif line.startswith("| ") and section and checklist and checklist.endswith("Checklist"):
            cells = _cells(line)
            if len(cells) != 3 or cells[0] in ("Item", "---") or set(cells[0]) <= set("-: "):
                continue
            how = cells[1].split(" ", 1)[0].strip()
            if how not in HOWS:
                raise ValueError("checklist row %r: the How cell must start with %s" % (cells[0], ", ".join(HOWS)))
            try:
                ids = ids_of(cells[1])
            except ValueError as exc:
                raise ValueError("checklist row %r: %s" % (cells[0], exc))
            rows.append({
                "key": "r%d" % (len(rows) + 1), "checklist": checklist, "section": section, "subsection": subsection,
                "item": _plain(cells[0]), "how": how, "detail": _plain(cells[1][len(how):].lstrip(" —-")),
                "reason": _plain(cells[2]), "partial": cells[2].startswith("Partial"), "ids": ids,
                "rollback": "rollback" in section.lower(),
            })
    return rows


def matcher(rows):
    """``match(record)``: the keys of the rows a check record (or ledger step) gives evidence for.

    A record matches a row that names its id (placeholders allowed) or whose item its
    ``checklist`` field quotes, and only a row of its side: a record of a rollback phase
    (``record["phase"]``) only rollback rows, any other record only the others.
    """
    by_item = {}
    patterns = []
    side = dict((row["key"], bool(row.get("rollback"))) for row in rows)
    for row in rows:
        by_item.setdefault(row["item"].lower(), []).append(row["key"])
        for token in row["ids"]:
            patterns.append((pattern(token), row["key"]))

    def match(record):
        rollback = record.get("phase") in ROLLBACK_PHASES
        keys = [key for regex, key in patterns if regex.match(record["id"])]
        for item in quoted(record):
            for key in by_item.get(item, []):
                if key not in keys:
                    keys.append(key)
        return [key for key in keys if side[key] == rollback]

    return match


def load(path=None):
    """The rows of the mapping at ``path`` (the collection's own by default)."""
    with open(path or DEFAULT_PATH, encoding="utf-8") as handle:
        return parse(handle.read())
