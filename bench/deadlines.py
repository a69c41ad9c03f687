"""How long a task with a timeout takes against an endpoint that accepts connections and
never answers, against that timeout (the baseline, measured in the same run): the task's
timeout must bound the whole task, retries included, with at most 0.5 s more.

Each service is called in process, as its module calls it, with a 3 s timeout, against a
loopback socket that accepts and stays silent:

  - slo_gate: a Prometheus objective (``timeout``);
  - s3_health: the bucket's checks (``aws_timeout``, botocore's five attempts included);
  - mq_health: the management API (``timeout``);
  - http_check: one request sent three times (``timeout``, with a longer ``request_timeout``);
  - dns_cutover: the verification of a record on a name server that never answers (``timeout``).

    .venv/bin/python bench/deadlines.py [--timeout 3]
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".cache" / "collections")]

from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.dns import cutover  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.http import probe, transport  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.metrics import gate  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.mq import rabbitmq  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.storage import posture  # noqa: E402


class Silent:
    """A TCP port that accepts every connection and never answers (and a UDP one, for DNS)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(100)
        self.port = self.sock.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp_port = self.udp.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return


def timed(call):
    started = time.monotonic()
    try:
        call()
        outcome = "returned"
    except GoliveError as exc:
        outcome = type(exc).__name__
    return time.monotonic() - started, outcome


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=3.0)
    args = ap.parse_args()
    t = args.timeout
    silent = Silent()
    url = "http://127.0.0.1:%d" % silent.port
    cases = {
        "slo_gate (timeout)": lambda: gate.evaluate([{"name": "up", "source": "prometheus", "query": "up", "max": 1}],
                                                    1, 0, None, url, None, Deadline(t)),
        "s3_health (aws_timeout)": lambda: posture.run(aws.session_client("s3", aws.AwsSettings(
            endpoint_url=url, access_key="a", secret_key="b", timeout=t)),
            {"bucket": "shop-files", "prefix": "x/", "round_trip": False}, t),
        "mq_health (timeout)": lambda: rabbitmq.run(rabbitmq.RabbitMqApi(url=url, username="u", password="p",
                                                                         timeout=t), "/", [], round_trip=False),
        "http_check (timeout, 3 sends)": lambda: probe.run(
            [{"name": "x", "url": url + "/", "method": "GET", "status": [200]}], transport.Resolver(), None,
            Deadline(t), count=3, concurrency=1, request_timeout=30),
        "dns_cutover verify (timeout)": lambda: cutover.verify(
            [("ns1.", "127.0.0.1", silent.udp_port)], {"www.example.test. A": {"values": ["10.0.0.1"]}}, Deadline(t)),
    }
    print("each task against an endpoint that never answers, timeout %.1f s (the baseline)" % t)
    worst = 0.0
    for name, call in cases.items():
        elapsed, outcome = timed(call)
        worst = max(worst, elapsed - t)
        print("  %-32s %6.2f s  ratio to the timeout %5.2fx  overrun %+5.2f s  (%s)"
              % (name, elapsed, elapsed / t, elapsed - t, outcome))
    print("largest overrun: %+.2f s  (target: at most +0.50 s)" % worst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
