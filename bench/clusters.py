"""Phase 4 and the emergency rollback's time to the maintenance page on three clusters,
against one cluster, measured in the same run.

On the lab grown to three clusters (`python -m lab up --clusters 3`; the count it had is
put back at the end), with `inventories/lab-regions` (one host per cluster), each round in
a fresh environment with the next build of the running release (`2026.11.2-1`: no
migration, so phase 4 alone deploys it):

  1. one cluster: `golive.yml --tags phase4 --limit eu-1`, timed from launch to exit; then
     `rollback_emergency.yml --limit eu-1` while a client asks eu-1's router for a page every
     20 ms: the time from launch to the first 503 maintenance page;
  2. three clusters: the same without `--limit`; the time to the maintenance page is the
     time until the last of the three routers answers 503.

Prints, medians of the rounds, phase 4 on three clusters over one (target: at most 1.3,
the clusters are handled in parallel, not in turn) and the time-to-503 on three clusters
minus one cluster's (target: within 1 s).

    .venv/bin/python bench/clusters.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".cache" / "collections"), str(ROOT / "tests" / "integration")]

from lab.core import Lab  # noqa: E402
from lab.services import clusters as lab_clusters  # noqa: E402

RELEASE = "2026.11.2-1"
BIN = Path(sys.executable).parent


def command(playbook: str, lab: Lab, environment: str, *args: str) -> list:
    return [str(BIN / "ansible-playbook"), "-i", "inventories/lab-regions", playbook,
            "-e", "@%s" % (lab.state_dir / "golive_lab.yml"), "-e", "golive_environment=%s" % environment, *args]


def env(lab: Lab) -> dict:
    from helpers import ansible_env
    return ansible_env({"GOLIVE_LAB_STATE": str(lab.state_dir)})


def status(cluster: dict) -> int | None:
    from helpers import request
    try:
        return request(cluster["app"], path="/", site="old")[0]
    except OSError:
        return None


def phase4(lab: Lab, environment: str, limit: list) -> float:
    cmd = command("playbooks/golive.yml", lab, environment, "--tags", "phase4", "-e", "golive_release=%s" % RELEASE)
    if limit:
        cmd += ["--limit", ",".join(limit)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env(lab), capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("phase 4 failed:\n" + proc.stdout[-3000:])
    return took


def time_to_503(lab: Lab, environment: str, names: list, endpoints: dict, limit: list) -> float:
    cmd = command("playbooks/rollback_emergency.yml", lab, environment, "-e", "release=%s" % RELEASE)
    if limit:
        cmd += ["--limit", ",".join(limit)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(lab), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first: dict = {}
    while len(first) < len(names) and proc.poll() is None:
        for name in names:
            if name not in first and status(endpoints["clusters"][name]) == 503:
                first[name] = time.monotonic() - started
        time.sleep(0.02)
    out = proc.communicate()[0]
    if proc.returncode != 0 or len(first) < len(names):
        raise SystemExit("the rollback failed or a cluster never showed the maintenance page:\n" + out[-3000:])
    return max(first.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    lab = Lab()
    before = lab_clusters.count(lab.context()) if lab.state_dir.exists() else 1
    endpoints = lab.up(clusters=3)
    names = list(lab_clusters.NAMES[:3])
    results: dict = {1: {"phase4": [], "503": []}, 3: {"phase4": [], "503": []}}
    try:
        for _ in range(args.rounds):
            for count in (1, 3):
                chosen = names[:count]
                limit = chosen if count == 1 else []
                environment = "bench-%d-%s" % (count, uuid.uuid4().hex[:6])
                results[count]["phase4"].append(phase4(lab, environment, limit))
                results[count]["503"].append(time_to_503(lab, environment, chosen, endpoints, limit))
    finally:
        if before != 3:
            lab.up(clusters=before)
    one, three = results[1], results[3]
    p1, p3 = statistics.median(one["phase4"]), statistics.median(three["phase4"])
    t1, t3 = statistics.median(one["503"]), statistics.median(three["503"])
    print(json.dumps(results))
    print("phase 4 (golive.yml --tags phase4), wall time from launch to exit:")
    print("  one cluster:    " + ", ".join("%.1f s" % r for r in one["phase4"]) + "  median %.1f s" % p1)
    print("  three clusters: " + ", ".join("%.1f s" % r for r in three["phase4"]) + "  median %.1f s" % p3)
    print("  three over one: %.2fx  (target: at most 1.3x)" % (p3 / p1))
    print("emergency rollback, launch to the maintenance page (the last cluster's first 503):")
    print("  one cluster:    " + ", ".join("%.2f s" % r for r in one["503"]) + "  median %.2f s" % t1)
    print("  three clusters: " + ", ".join("%.2f s" % r for r in three["503"]) + "  median %.2f s" % t3)
    print("  three minus one: %+.2f s  (target: within 1 s)" % (t3 - t1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
