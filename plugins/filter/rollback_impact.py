# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rollback_impact
short_description: The impact summary a controlled rollback shows before it asks for confirmation
version_added: 1.0.0
description:
  - Joins what the assessment observed into one summary, from the rollback O(_input) plan (golive.core.ledger
    V(read) with O(golive.core.ledger#module:plan=emergency-rollback)), the service checks
    (golive.core.service_discovery), the objectives (golive.core.slo_gate) and the writes since the pre-deploy
    backup (golive.core.pg_restore in check mode).
  - Each objective with its measured value and its threshold; C(troubled) lists every service whose checks
    failed (with the Pods not ready and their Warning Events), every series of an objective beyond its
    threshold (a query C(by (service, route)) names the failing requests), and every failed objective.
  - C(database) says whether the rollback restores the database, what it would keep aside under which name,
    and the rows written since the backup per table.
options:
  _input:
    description: The rollback's plan.
    type: dict
    required: true
  services:
    description: The checks of golive.core.service_discovery.
    type: list
    elements: dict
  objectives:
    description: The objectives of golive.core.slo_gate.
    type: list
    elements: dict
  restore:
    description: What golive.core.pg_restore answered in check mode (empty when it did not run).
    type: dict
"""

EXAMPLES = r"""
- name: The impact summary
  ansible.builtin.set_fact:
    impact: "{{ ledger.plan | golive.core.rollback_impact(services.checks, slo.objectives, restore) }}"
"""

RETURN = r"""
_value:
  description: The impact summary.
  type: dict
"""


def _last_value(objective):
    values = [m.get("value") for m in objective.get("measurements") or [] if m.get("value") is not None]
    return values[-1] if values else None


def rollback_impact(plan, services=None, objectives=None, restore=None):
    plan = plan or {}
    troubled = []
    statuses = {}
    for check in services or []:
        statuses[check.get("id")] = check.get("status")
        evidence = check.get("evidence") or {}
        if check.get("status") == "fail":
            entry = {"service": evidence.get("service") or check.get("id"), "problems": evidence.get("problems") or []}
            for key in ("unready_pods", "events", "not_answering"):
                if evidence.get(key):
                    entry[key] = evidence[key]
            troubled.append(entry)
    measured = {}
    for objective in objectives or []:
        name = objective.get("name")
        measured[name] = {"verdict": objective.get("verdict"), "value": _last_value(objective),
                          "threshold": objective.get("threshold")}
        series = (objective.get("series") or {}).get("worst_first") or []
        beyond = [s for s in series if s.get("beyond")]
        if beyond:
            measured[name]["beyond"] = beyond
            for item in beyond:
                troubled.append({"objective": name, "series": item["series"], "value": item["value"],
                                 "threshold": objective.get("threshold")})
        elif objective.get("verdict") == "failed":
            troubled.append({"objective": name, "value": measured[name]["value"],
                             "threshold": objective.get("threshold")})
    database = {"restored": bool((plan.get("run") or {}).get("rollback/db-restore"))}
    if plan.get("database"):
        database.update(name=plan["database"].get("database"), backup_id=plan["database"].get("backup_id"))
    if not database["restored"]:
        why = [s.get("why") for s in plan.get("steps") or [] if s.get("id") == "rollback/db-restore"]
        database["why_not"] = why[0] if why else None
    elif restore and restore.get("previous_database"):
        database["kept_as"] = restore.get("previous_database")
        database["writes_since_backup"] = restore.get("writes_since_backup")
    elif restore:  # the restore's check answered with an error (an unreachable store, a missing backup)
        database["not_counted"] = restore.get("msg") or "the restore's check did not answer"
    return {
        "release": plan.get("release"),
        "environment": plan.get("environment"),
        "changed_by_the_release": plan.get("changed_by_the_release") or [],
        "rollback_steps": plan.get("summary") or [],
        "services": statuses,
        "objectives": measured,
        "troubled": troubled,
        "database": database,
    }


class FilterModule(object):
    def filters(self):
        return {"rollback_impact": rollback_impact}
