"""Command line of the lab: ``python -m lab [--state-dir DIR] up|down|status|env``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from lab.core import Lab, LabError, default_state_dir


def _status_line(name: str, status: dict) -> str:
    parts = []
    for proc in status.get("processes", []):
        ports = ",".join(str(p) for p in proc.get("ports", []))
        state = f"pid {proc['pid']}" if proc["running"] else "stopped"
        parts.append(f"{proc['name']} {state}" + (f" port {ports}" if ports else ""))
    word = "running" if status.get("running") else "NOT running"
    if status.get("clusters"):
        parts.append("clusters " + ", ".join(status["clusters"]))
    if status.get("data"):
        parts.append(f"data in {status['data']}")
    return f"{name:<10} {word:<12} " + "; ".join(parts)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", default=argparse.SUPPRESS,
                        help=f"state directory (default: $GOLIVE_LAB_STATE, "
                             f"currently {default_state_dir()})")
    parser = argparse.ArgumentParser(prog="python -m lab", parents=[common],
                                     description="The golive local lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", parents=[common], help="start every service that is not running")
    up.add_argument("--clusters", type=int, default=None,
                    help="run N Kubernetes clusters, one per region (kept for later runs; default: as before, else 1)")
    down = sub.add_parser("down", parents=[common], help="stop every lab process")
    down.add_argument("--purge", action="store_true",
                      help="also delete the state directory and the generated inventory")
    status = sub.add_parser("status", parents=[common],
                            help="one line per service; exit 0 only when all run")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    env = sub.add_parser("env", parents=[common], help="print the endpoints as shell exports")
    env.add_argument("--json", action="store_true", help="print the endpoints as JSON")
    sw = sub.add_parser("switch", parents=[common], help="set the pager's lab switches, e.g. LAB_ERROR_RATIO=0.5")
    sw.add_argument("switches", nargs="+", metavar="NAME=VALUE")
    sw.add_argument("--cluster", default=None, help="the pager Pods of this cluster (lab up --clusters N); default the home one")
    obs = sub.add_parser("observe", parents=[common],
                         help="what DNS answers, which version serves, the schema and rows")
    obs.add_argument("--json", action="store_true", help="print it as JSON")
    back = sub.add_parser("backfill", parents=[common],
                          help="write past weeks of the pager into Prometheus (promtool tsdb create-blocks-from)")
    back.add_argument("--cutover", required=True, help="the go-live, RFC 3339: memory grows after it")
    back.add_argument("--days-before", type=float, default=7, help="history starts this long before the cutover")
    back.add_argument("--end", help="history ends here (RFC 3339; default three hours ago)")
    back.add_argument("--burst", help="one hour of 5 %% errors starting here (RFC 3339)")
    back.add_argument("--growth-mib-per-day", type=float, default=2.0)
    return parser


def _epoch(text: str) -> float:
    import datetime
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def _backfill(lab: Lab, args) -> int:
    from lab import history
    endpoints = lab.endpoints()
    cutover = _epoch(args.cutover)
    end = _epoch(args.end) if args.end else time.time() - 3 * 3600 - 60
    burst = (_epoch(args.burst), _epoch(args.burst) + 3600) if args.burst else None
    story = history.Story(start=cutover - args.days_before * 86400, end=end, burst=burst, growth_from=cutover,
                          growth_per_day=args.growth_mib_per_day * history.MiB)
    data = lab.state_dir / "prometheus" / "data"

    def restart() -> None:
        lab.context().stop_process("prometheus")
        lab.up()

    try:
        blocks = history.backfill(data, story, restart)
    except (ValueError, RuntimeError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps({"blocks": blocks, "start": story.start, "end": story.end, "url": endpoints["prometheus"]["url"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    lab = Lab(getattr(args, "state_dir", None))
    try:
        if args.command == "up":
            started = time.monotonic()
            lab.up(clusters=args.clusters)
            for name, status in lab.status().items():
                print(_status_line(name, status))
            print(f"lab up in {time.monotonic() - started:.1f}s; state: {lab.state_dir}")
            print(f"endpoints: {lab.endpoints_file}  (shell: eval \"$(python -m lab env)\")")
            return 0
        if args.command == "down":
            lab.down(purge=args.purge)
            print("lab down; " + ("state purged" if args.purge else f"data kept in {lab.state_dir}"))
            return 0
        if args.command == "status":
            status = lab.status()
            if args.json:
                print(json.dumps(status, indent=2, sort_keys=True))
            else:
                for name, item in status.items():
                    print(_status_line(name, item))
            return 0 if all(s["running"] for s in status.values()) else 3
        if args.command in ("switch", "observe"):
            from lab import demo
            endpoints = lab.endpoints()
            if args.command == "switch":
                values = dict(item.split("=", 1) for item in args.switches)
                print("switched %s on %s" % (values, ", ".join(demo.switch(endpoints, lab.state_dir, values, args.cluster))))
                return 0
            observed = demo.observe(endpoints)
            print(json.dumps(observed, sort_keys=True) if args.json else demo.describe(observed))
            return 0
        if args.command == "backfill":
            return _backfill(lab, args)
        if args.command == "env":
            endpoints = lab.endpoints()
            lab.write_outputs(endpoints)
            if args.json:
                print(json.dumps(endpoints, indent=2, sort_keys=True))
            else:
                print("\n".join(lab.env_lines(endpoints)))
            return 0
    except LabError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
