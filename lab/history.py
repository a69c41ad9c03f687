"""Past weeks of the pager in the lab's Prometheus, back-filled the way Prometheus documents
it: OpenMetrics text turned into TSDB blocks by ``promtool tsdb create-blocks-from
openmetrics`` (shipped with the Debian package), the blocks moved into the running
Prometheus's data directory, and Prometheus restarted so that it loads them at once.

The lab cannot wait a week after a go-live; its history can be written instead. The story,
at a five-minute resolution, from ``start`` to ``end`` (both in the past; ``end`` at least
three hours back, outside the head block Prometheus is still writing):

- traffic: ``http_requests_total`` of the pager (``namespace="pager"``, ``pod="pager-history"``)
  at ``rps`` requests a second, a daily swing of +-30 %; 0.05 % of them answered 500, except
  during ``burst`` (start, end), when ``burst_ratio`` are;
- latency: ``http_request_duration_seconds`` buckets around 60 ms (p95 about 150 ms), slower
  during the burst;
- memory: ``container_memory_working_set_bytes`` flat at ``memory_start`` before ``growth_from``,
  then growing ``growth_per_day`` bytes a day;
- availability: ``probe_success`` of the blackbox job (``instance="history"``), 0 for the
  probes that fall in the burst's first ten minutes.

Series carry ``lab_history="1"`` so a query can tell them from live ones.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

STEP = 300  # seconds between samples
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MiB = 1024 * 1024


@dataclass
class Story:
    start: float
    end: float
    rps: float = 10.0
    error_ratio: float = 0.0005
    burst: tuple | None = None        # (start, end) epoch seconds
    burst_ratio: float = 0.05
    memory_start: float = 70 * MiB
    growth_from: float | None = None  # epoch seconds (the cutover)
    growth_per_day: float = 2 * MiB
    version: str = "history"


def _share_below(le: float, slow: bool) -> float:
    """The share of requests answered within ``le`` seconds (a log-normal around 60 ms)."""
    median, sigma = (0.25, 0.6) if slow else (0.06, 0.55)
    if le <= 0:
        return 0.0
    return 0.5 * (1 + math.erf(math.log(le / median) / (sigma * math.sqrt(2))))


def openmetrics(story: Story) -> str:
    """The story as OpenMetrics text (families in order, each series' samples in time order)."""
    times = []
    t = story.start - story.start % STEP
    while t <= story.end:
        times.append(t)
        t += STEP

    def in_burst(at):
        return bool(story.burst) and story.burst[0] <= at < story.burst[1]

    base = 'app="pager",namespace="pager",pod="pager-history",container="pager",job="pods",lab_history="1"'
    ok, errors, count, total, buckets = [], [], [], [], dict((le, []) for le in BUCKETS + (float("inf"),))
    n_ok = n_err = n_count = 0.0
    seconds = 0.0
    cum = dict((le, 0.0) for le in buckets)
    memory, probe = [], []
    for at in times:
        swing = 1 + 0.3 * math.sin(2 * math.pi * (at % 86400) / 86400)
        requests = story.rps * swing * STEP
        ratio = story.burst_ratio if in_burst(at) else story.error_ratio
        n_err += requests * ratio
        n_ok += requests * (1 - ratio)
        n_count += requests
        slow = in_burst(at)
        seconds += requests * (0.25 if slow else 0.07)
        for le in cum:
            cum[le] += requests * (1.0 if le == float("inf") else _share_below(le, slow))
        ok.append((at, n_ok))
        errors.append((at, n_err))
        count.append((at, n_count))
        total.append((at, seconds))
        for le in buckets:
            buckets[le].append((at, cum[le]))
        grown = 0.0
        if story.growth_from is not None and at > story.growth_from:
            grown = story.growth_per_day * (at - story.growth_from) / 86400
        memory.append((at, story.memory_start + grown + 256 * 1024 * math.sin(at / 3600)))
        probe.append((at, 0 if story.burst and story.burst[0] <= at < story.burst[0] + 600 else 1))

    lines = []

    def family(name, kind, series):
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, samples in series:
            suffix = "_total" if kind == "counter" else ""
            for at, value in samples:
                lines.append("%s%s{%s} %s %d" % (name, suffix, labels, _num(value), at))

    route = base + ',version="%s",method="GET",route="/api/incidents"' % story.version
    family("http_requests", "counter", [(route + ',code="200"', ok), (route + ',code="500"', errors)])
    lines.append("# TYPE http_request_duration_seconds histogram")
    hist = base + ',version="%s",route="/api/incidents"' % story.version
    for le, samples in buckets.items():
        for at, value in samples:
            lines.append('http_request_duration_seconds_bucket{%s,le="%s"} %s %d'
                         % (hist, "+Inf" if le == float("inf") else repr(le), _num(value), at))
    for at, value in count:
        lines.append("http_request_duration_seconds_count{%s} %s %d" % (hist, _num(value), at))
    for at, value in total:
        lines.append("http_request_duration_seconds_sum{%s} %s %d" % (hist, _num(value), at))
    family("container_memory_working_set_bytes", "gauge", [(base, memory)])
    family("probe_success", "gauge", [('job="blackbox",instance="history",lab_history="1"', probe)])
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return ("%.6f" % value).rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def backfill(prometheus_data: Path, story: Story, restart) -> list:
    """Write the story's blocks into ``prometheus_data`` (``promtool tsdb create-blocks-from
    openmetrics``) and call ``restart()`` so that Prometheus loads them; returns the block ids."""
    if story.end > time.time() - 3 * 3600:
        raise ValueError("the history must end at least three hours ago (the head block's range)")
    work = Path(tempfile.mkdtemp(prefix="history-", dir=str(prometheus_data.parent)))
    try:
        source = work / "history.om"
        source.write_text(openmetrics(story))
        out = work / "blocks"
        proc = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(out)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError("promtool tsdb create-blocks-from failed: %s" % (proc.stderr or proc.stdout)[-2000:])
        blocks = sorted(p.name for p in out.iterdir() if (p / "meta.json").exists())
        for name in blocks:
            os.replace(out / name, prometheus_data / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    restart()
    return blocks
