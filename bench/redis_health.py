"""redis_health on the lab's Redis (master, replica, three Sentinels): time in process.

Target (issue: "health of the lab's Redis under 1.5 s"): every probe asks once. The
baseline, measured in the same run against the same servers, is the same observation
with redis-py's default retry policy on every connection (3 retries, exponential backoff
with jitter up to 10 s), which is how the probes behaved before: the "unauthenticated
connections are refused" probe sat in that backoff on every node. Prints both medians,
the ratio baseline / ours, and whether ours meets the 1.5 s target.

    .venv/bin/python bench/redis_health.py [--rounds 5]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / ".cache" / "collections")]

import redis.retry  # noqa: E402

from ansible_collections.golive.core.plugins.module_utils.redis import connection, health  # noqa: E402
from lab.core import Lab  # noqa: E402

TARGET_SECONDS = 1.5


def timed(params):
    started = time.monotonic()
    result = health.run(params, {})
    elapsed = time.monotonic() - started
    assert not [c for c in result["checks"] if c["status"] == "fail"], result["checks"]
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    eps = Lab().up()["redis"]
    params = connection.RedisServer(sentinels=eps["sentinels"], master_name=eps["master_name"],
                                    password=eps["password"], sentinel_password=eps.get("sentinel_password"),
                                    timeout=5.0, db=0)
    ours_policy = connection._retry  # pylint: disable=protected-access
    ours, baseline = [], []
    for _ in range(opts.rounds):  # interleaved, so load affects both alike
        connection._retry = ours_policy  # pylint: disable=protected-access
        ours.append(timed(params))
        connection._retry = lambda probe: redis.retry.Retry(  # pylint: disable=protected-access
            redis.backoff.ExponentialWithJitterBackoff(base=1, cap=10), 3)
        baseline.append(timed(params))
    connection._retry = ours_policy  # pylint: disable=protected-access
    ours_s, base_s = statistics.median(ours), statistics.median(baseline)
    print("redis_health on the lab (master, replica, 3 Sentinels), median of %d rounds" % opts.rounds)
    print("  ours (probes ask once):             %.3f s" % ours_s)
    print("  baseline (redis-py default retries): %.3f s" % base_s)
    print("  ratio baseline / ours: %.1fx" % (base_s / ours_s))
    print("  target: under %.1f s -> %s" % (TARGET_SECONDS, "met" if ours_s < TARGET_SECONDS else "NOT met"))
    return 0 if ours_s < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
