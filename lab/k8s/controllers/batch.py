"""Jobs and CronJobs (on a real cron schedule)."""

from __future__ import annotations

import datetime as dt
import json
import random

from .common import ALPHABET, K_CJ, K_JOB, K_POD, is_ready, iso, now_iso, owner_ref, parse_iso, set_condition


_CRON_ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                 "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                 "@hourly": "0 * * * *"}


def _cron_field(text: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/")
            step = int(s)
        if part in ("*", "?"):
            a, b = lo, hi
        elif "-" in part:
            a, b = (int(x) for x in part.split("-"))
        else:
            a = b = int(part)
            if step != 1:
                b = hi
        out.update(range(a, b + 1, step))
    return out


def cron_times(schedule: str, after: dt.datetime, until: dt.datetime, limit: int = 50) -> list[dt.datetime]:
    """Schedule times in (after, until], newest last (at most `limit`, the most recent ones)."""
    expr = _CRON_ALIASES.get(schedule.strip(), schedule.strip())
    fields = expr.split()
    if len(fields) != 5:
        return []
    minutes, hours, dom, months, dow = (
        _cron_field(fields[0], 0, 59), _cron_field(fields[1], 0, 23), _cron_field(fields[2], 1, 31),
        _cron_field(fields[3], 1, 12), {d % 7 for d in _cron_field(fields[4], 0, 7)})
    dom_any, dow_any = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    found: list[dt.datetime] = []
    t = until.replace(second=0, microsecond=0)
    floor = max(after, until - dt.timedelta(days=35))
    while t > floor and len(found) < limit:
        if t.minute in minutes and t.hour in hours and t.month in months:
            day_ok_dom, day_ok_dow = t.day in dom, ((t.weekday() + 1) % 7) in dow
            if dom_any and dow_any:
                day_ok = True
            elif dom_any:
                day_ok = day_ok_dow
            elif dow_any:
                day_ok = day_ok_dom
            else:
                day_ok = day_ok_dom or day_ok_dow
            if day_ok:
                found.append(t)
            t -= dt.timedelta(minutes=1)
        elif t.hour not in hours or t.month not in months:
            t = t.replace(minute=0) - dt.timedelta(minutes=1)
        else:
            t -= dt.timedelta(minutes=1)
    return list(reversed(found))




class Batch:
    HANDLERS = {"job": "_h_job", "cj": "_h_cj"}
    WATCHES = {K_JOB: lambda etype, ns, name: [("job", ns, name)],
               K_CJ: lambda etype, ns, name: [("cj", ns, name)]}

    # -- jobs and cron jobs --------------------------------------------------------------
    def _h_job(self, ns: str, name: str) -> None:
        job = self.get(K_JOB, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        spec = job.get("spec") or {}
        status = dict(job.get("status") or {})
        conds = status.get("conditions") or []
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conds):
            return
        if spec.get("suspend"):
            return
        pods = self.owned(job, K_POD)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        completions = spec.get("completions", 1)
        parallelism = spec.get("parallelism", 1)
        status.setdefault("startTime", now_iso())
        now = now_iso()
        if succeeded >= completions:
            conds = set_condition(conds, "SuccessCriteriaMet", "True", "CompletionsReached",
                                  "Reached expected number of succeeded pods")
            conds = set_condition(conds, "Complete", "True", "CompletionsReached",
                                  "Reached expected number of succeeded pods")
            for c in conds:
                c.setdefault("lastProbeTime", now)
            status.update(conditions=conds, completionTime=now)
            status.pop("active", None)
        elif failed > spec.get("backoffLimit", 6):
            conds = set_condition(conds, "FailureTarget", "True", "BackoffLimitExceeded",
                                  "Job has reached the specified backoff limit")
            conds = set_condition(conds, "Failed", "True", "BackoffLimitExceeded",
                                  "Job has reached the specified backoff limit")
            status["conditions"] = conds
            status.pop("active", None)
        else:
            todo = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(todo, 0)):
                extra = {"job-name": name, "batch.kubernetes.io/job-name": name,
                         "controller-uid": job["metadata"]["uid"],
                         "batch.kubernetes.io/controller-uid": job["metadata"]["uid"]}
                tpl = json.loads(json.dumps(spec.get("template") or {}))
                tpl.setdefault("spec", {}).setdefault("restartPolicy", "Never")
                self.new_pod(job, tpl, f"{name}-{''.join(random.choices(ALPHABET, k=5))}", extra)
            status["active"] = max(len(active), min(parallelism, completions - succeeded))
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        if succeeded:
            status["succeeded"] = succeeded
        if failed:
            status["failed"] = failed
        self.set_status(K_JOB, job, status)

    def _h_cj(self, ns: str, name: str) -> None:
        cj = self.get(K_CJ, ns, name)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return
        spec = cj.get("spec") or {}
        status = dict(cj.get("status") or {})
        now = dt.datetime.now(dt.timezone.utc)
        jobs = self.owned(cj, K_JOB)
        if not spec.get("suspend"):
            since = parse_iso(status.get("lastScheduleTime") or cj["metadata"]["creationTimestamp"])
            times = cron_times(spec.get("schedule", ""), since, now, limit=1)
            if times:
                t = times[-1]
                job_name = f"{name}-{int(t.timestamp() // 60)}"
                if self.store.get(K_JOB, ns, job_name) is None:
                    tpl = json.loads(json.dumps(spec.get("jobTemplate") or {}))
                    meta = tpl.get("metadata") or {}
                    meta.update(name=job_name, ownerReferences=[owner_ref(cj)])
                    meta.setdefault("annotations", {})["batch.kubernetes.io/cronjob-scheduled-timestamp"] = iso(t)
                    self.create(K_JOB, ns, {"metadata": meta, "spec": tpl.get("spec") or {}})
                    self.event(cj, "SuccessfulCreate", f"Created job {job_name}")
                status["lastScheduleTime"] = iso(t)
                jobs = self.owned(cj, K_JOB)
            self.later(60 - now.second + 0.5, "cj", ns, name, periodic=True)
        done, failed, active = [], [], []
        for j in jobs:
            conds = {c.get("type") for c in (j.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
            (done if "Complete" in conds else failed if "Failed" in conds else active).append(j)
        if done:
            last = max((j.get("status") or {}).get("completionTime", "") for j in done)
            if last and last > status.get("lastSuccessfulTime", ""):
                status["lastSuccessfulTime"] = last
        if active:
            status["active"] = [{"kind": "Job", "namespace": ns, "name": j["metadata"]["name"],
                                 "uid": j["metadata"]["uid"], "apiVersion": "batch/v1",
                                 "resourceVersion": j["metadata"]["resourceVersion"]} for j in active]
        else:
            status.pop("active", None)
        for group, limit in ((done, spec.get("successfulJobsHistoryLimit", 3)),
                             (failed, spec.get("failedJobsHistoryLimit", 1))):
            group.sort(key=lambda j: j["metadata"]["creationTimestamp"])
            for j in group[:max(len(group) - limit, 0)]:
                self.delete(K_JOB, ns, j["metadata"]["name"])
        self.set_status(K_CJ, cj, status)
