# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring pipeline as an operator proves it: every target of the declared scrape
jobs up, the declared rule groups loaded and healthy, the declared receivers configured in
Alertmanager, and a test alert routed to each receiver and, where the receiver can be read
back, delivered there.

Judging is pure (``judge_*``), observing goes through the Prometheus and Alertmanager HTTP
APIs (``/api/v1/targets``, ``/api/v1/rules``, ``/api/v2/status``, ``/api/v2/alerts``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
import uuid
from urllib.parse import quote

from ansible.module_utils.urls import open_url

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, make_check
from ansible_collections.golive.core.plugins.module_utils.common.clock import format_time, utcnow
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError
from ansible_collections.golive.core.plugins.module_utils.metrics.prometheus import Prometheus, call

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core needs PyYAML
    HAS_YAML = False

CHECKLIST_TARGETS = ["Metrics collection active"]
CHECKLIST_RULES = ["Configure alerting rules", "Alerting Rules - Critical alerts configured and tested"]
CHECKLIST_ALERTS = ["Alerts configured and tested", "Monitoring Alerts - Critical alerts tested and verified",
                    "Alerting Rules - Critical alerts configured and tested",
                    "Monitoring Setup - Application monitoring and alerting configured"]


# -- judging (pure) --------------------------------------------------------------------------

def part(name):
    """A name as a part of a check id (lower case; other characters become ``-``)."""
    return re.sub(r"[^a-z0-9_.:-]", "-", str(name).lower()) or "-"


def judge_job(job, targets, min_targets=1, checklist=None, labels=None):
    """A declared scrape job: at least ``min_targets`` targets (those with ``labels``, when
    given), every one ``up``; the check quotes the items the job gives evidence for
    (``checklist``, the declaration's)."""
    wanted = dict(labels or {}, job=job)
    mine = [t for t in targets if all((t.get("labels") or {}).get(k) == v for k, v in wanted.items())]
    shown = [{"instance": (t.get("labels") or {}).get("instance"), "health": t.get("health"),
              "last_error": t.get("lastError") or None, "last_scrape": t.get("lastScrape")} for t in mine]
    down = [s for s in shown if s["health"] != "up"]
    problems = []
    if len(mine) < min_targets:
        problems.append("job %s has %d target(s), at least %d expected" % (job, len(mine), min_targets))
    problems += ["target %s of job %s is %s%s" % (s["instance"], job, s["health"],
                                                  ": %s" % s["last_error"] if s["last_error"] else "") for s in down]
    evidence = {"job": job, "targets": shown, "problems": problems}
    if labels:
        evidence["labels"] = dict(labels)
    return make_check("monitoring.targets.%s" % part(job), "Every target of scrape job %s is up" % job,
                      FAIL if problems else PASS, evidence, checklist or CHECKLIST_TARGETS)


def judge_group(name, groups, alerts=()):
    """A declared rule group: loaded, every rule healthy, and the declared alerts in it."""
    group = next((g for g in groups if g.get("name") == name), None)
    if group is None:
        loaded = sorted(g.get("name") for g in groups)
        problem = "rule group %s is not loaded (loaded: %s)" % (name, ", ".join(loaded) or "none")
        return make_check("monitoring.rules.%s" % part(name), "Rule group %s is loaded and healthy" % name, FAIL,
                          {"group": name, "loaded_groups": loaded, "problems": [problem]}, CHECKLIST_RULES)
    rules = group.get("rules") or []
    bad = [r for r in rules if r.get("health") not in ("ok", None) or r.get("lastError")]
    names = [r.get("name") for r in rules]
    missing = [a for a in alerts if a not in names]
    problems = ["rule %s of group %s is %s: %s" % (r.get("name"), name, r.get("health"), r.get("lastError") or "")
                for r in bad] + ["alert %s is not in group %s" % (a, name) for a in missing]
    return make_check("monitoring.rules.%s" % part(name), "Rule group %s is loaded and healthy" % name,
                      FAIL if problems else PASS,
                      {"group": name, "file": group.get("file"), "rules": len(rules),
                       "alerts": [r.get("name") for r in rules if r.get("type") == "alerting"],
                       "last_evaluation": group.get("lastEvaluation"), "problems": problems}, CHECKLIST_RULES)


def receivers_of(config_text):
    """The receiver names of an Alertmanager configuration (its YAML text)."""
    config = yaml.safe_load(config_text or "") or {} if HAS_YAML else {}
    return [r.get("name") for r in config.get("receivers") or [] if isinstance(r, dict)]


def judge_receivers(declared, configured):
    missing = [r for r in declared if r not in configured]
    return make_check("monitoring.receivers", "Alertmanager has the declared receivers", FAIL if missing else PASS,
                      {"declared": list(declared), "configured": configured,
                       "problems": ["receiver %s is not configured in Alertmanager (it has %s)" % (
                           r, ", ".join(configured) or "none") for r in missing]}, CHECKLIST_ALERTS)


def judge_delivery(receiver, routed_to, test_id, confirmed, confirm_url):
    """The test alert and one declared receiver: routed there, and delivered where it can be
    read back (``confirmed``: True, False, or None when there is nothing to read)."""
    evidence = {"receiver": receiver, "test_id": test_id, "routed_to": routed_to}
    if receiver not in routed_to:
        evidence["problems"] = ["the test alert was not routed to receiver %s (routed to %s)" % (
            receiver, ", ".join(routed_to) or "none")]
        status = FAIL
    elif confirm_url is None:
        evidence["delivery"] = "routed-only"
        evidence["note"] = "the receiver cannot be read back: routing is what was proven"
        status = PASS
    elif confirmed:
        evidence["delivery"] = "delivered"
        evidence["confirmed_at"] = confirm_url
        status = PASS
    else:
        evidence["delivery"] = "not delivered"
        evidence["problems"] = ["the test alert was routed to receiver %s but did not arrive at %s" % (
            receiver, confirm_url)]
        status = FAIL
    return make_check("monitoring.alert.%s" % part(receiver), "A test alert reaches receiver %s" % receiver, status,
                      evidence, CHECKLIST_ALERTS)


# -- observing ---------------------------------------------------------------------------------

class Alertmanager:
    def __init__(self, url, token=None, timeout=10.0, ca_file=None, validate_certs=True):
        self.url = url.rstrip("/")
        self.token, self.timeout, self.ca_file, self.validate_certs = token, float(timeout), ca_file, validate_certs

    def _call(self, path, method="GET", body=None, kinds=(dict,)):
        return call(self.url, path, "Alertmanager at %s" % self.url,
                    "Check alertmanager_url: the server's base URL, for example http://alertmanager:9093",
                    self.token, self.timeout, method, body, self.ca_file, self.validate_certs, kinds,
                    token_option="alertmanager_token")

    def receivers(self):
        return receivers_of(((self._call("/api/v2/status").get("config") or {}).get("original")))

    def post(self, alerts):
        self._call("/api/v2/alerts", "POST", alerts, kinds=(dict, list))

    def alerts(self, matcher):
        return self._call("/api/v2/alerts?filter=%s" % quote(matcher), kinds=(list,))


def _page(url, timeout, ca_file=None, validate_certs=True):
    """What ``url`` answers (a sink's log, a mailbox API), ``""`` when it cannot be read (yet)."""
    try:
        response = open_url(url, timeout=timeout, ca_path=ca_file, validate_certs=validate_certs)
        try:
            return response.read().decode("utf-8", "replace")
        finally:
            response.close()
    except Exception:  # noqa: BLE001 - not readable (yet): not delivered as far as we can see
        return ""


def prove_alerting(am, receivers, labels, release, deadline, check_mode=False, alertname="GoliveTestAlert",
                   ca_file=None, validate_certs=True, configured=None):
    """Post one test alert, follow it to each declared receiver (not waiting for those that
    ``configured`` lacks: nothing can route there), resolve it; return checks."""
    if check_mode:
        return [make_check("monitoring.alert.%s" % part(r["name"]), "A test alert reaches receiver %s" % r["name"], SKIP,
                           {"reason": "check mode sends no test alert"}, CHECKLIST_ALERTS) for r in receivers]
    test_id = uuid.uuid4().hex[:12]
    alert_labels = dict(labels or {}, alertname=alertname, golive_test=test_id)
    if release:
        alert_labels["golive_release"] = release
    now = utcnow()
    alert = {"labels": alert_labels, "startsAt": format_time(now),
             "annotations": {"summary": "golive.core test alert %s: proves the alert pipeline; no action needed"
                                        % test_id}}
    am.post([alert])
    routed, confirmed = [], {}
    try:
        pending = dict((r["name"], r) for r in receivers if r.get("confirm_url"))
        while True:
            found = am.alerts('golive_test="%s"' % test_id)
            routed = sorted(set(rc.get("name") for a in found for rc in a.get("receivers") or []))
            pages = {}  # one read of each URL a round, however many receivers it confirms
            for name, receiver in list(pending.items()):
                url = receiver["confirm_url"]
                if name in routed and url not in pages:
                    pages[url] = _page(url, min(5.0, am.timeout), ca_file, validate_certs)
                if name in routed and test_id in pages[url]:
                    confirmed[name] = True
                    pending.pop(name)
            waiting = [r["name"] for r in receivers if r["name"] not in routed
                       and (configured is None or r["name"] in configured)] + list(pending)
            if not waiting or deadline.expired():
                break
            time.sleep(min(0.5, max(deadline.remaining(), 0.01)))
    finally:
        # Resolved at once, so it neither lingers nor repeats.
        try:
            am.post([dict(alert, endsAt=format_time(utcnow()))])
        except GoliveError:
            pass
    return [judge_delivery(r["name"], routed, test_id, confirmed.get(r["name"], False),
                           r.get("confirm_url")) for r in receivers]


def run(prometheus_url, alertmanager_url, jobs=(), rule_groups=(), receivers=(), test_alert=None, release=None,
        deadline=None, token=None, alertmanager_token=None, ca_file=None, validate_certs=True, check_mode=False):
    """Every declared check, each failing alone (a system that cannot be reached fails its
    own checks, named)."""
    checks = []
    prom = Prometheus(prometheus_url, token, timeout=10.0, ca_file=ca_file, validate_certs=validate_certs) \
        if prometheus_url and (jobs or rule_groups) else None
    if jobs:
        try:
            targets = prom.api("targets?state=active", deadline).get("activeTargets") or []
            checks += [judge_job(j["name"], targets, j.get("min_targets", 1), j.get("checklist"), j.get("labels"))
                       for j in jobs]
        except GoliveError as exc:
            checks += [make_check("monitoring.targets.%s" % part(j["name"]), "Every target of scrape job %s is up"
                                  % j["name"], FAIL, {"error": exc.message, "problems": [exc.message]},
                                  j.get("checklist") or CHECKLIST_TARGETS) for j in jobs]
    if rule_groups:
        try:
            groups = prom.api("rules", deadline).get("groups") or []
            checks += [judge_group(g["name"], groups, g.get("alerts") or ()) for g in rule_groups]
        except GoliveError as exc:
            checks += [make_check("monitoring.rules.%s" % part(g["name"]), "Rule group %s is loaded and healthy"
                                  % g["name"], FAIL, {"error": exc.message, "problems": [exc.message]}, CHECKLIST_RULES) for g in rule_groups]
    if receivers:
        am = Alertmanager(alertmanager_url, alertmanager_token, 10.0, ca_file, validate_certs)
        try:
            configured = am.receivers()
            checks.append(judge_receivers([r["name"] for r in receivers], configured))
            if (test_alert or {}).get("enabled", True):
                checks += prove_alerting(am, receivers, (test_alert or {}).get("labels"), release, deadline,
                                         check_mode, (test_alert or {}).get("alertname") or "GoliveTestAlert",
                                         ca_file, validate_certs, configured)
        except GoliveError as exc:
            checks.append(make_check("monitoring.receivers", "Alertmanager has the declared receivers", FAIL,
                                     {"error": exc.message, "problems": [exc.message]}, CHECKLIST_ALERTS))
    return {"changed": False, "checks": checks}
