"""`python -m lab.k8s serve --state-dir DIR --port PORT [--scenario NAME] [--version V]`"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from .app import LabCluster


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.k8s", description="The lab Kubernetes API server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server in the foreground")
    serve.add_argument("--state-dir", required=True)
    serve.add_argument("--port", type=int, default=6443)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--scenario", default=None, help="preload lab/scenarios/NAME.yaml")
    serve.add_argument("--version", default=None,
                       help="gitVersion reported by /version (default: the scenario's, else v1.30.2)")
    serve.add_argument("--controller-delay", type=float, default=1.0,
                       help="seconds until new Pods are Ready and Jobs complete")
    serve.add_argument("--runtime", action="store_true",
                       help="run Pods of the lab's own images (registry.lab.example) as local processes")
    serve.add_argument("--pidfile", default=None)
    sub.add_parser("scenarios", help="list the scenarios")
    args = parser.parse_args(argv)
    if args.command == "scenarios":
        from .scenarios import scenario_names
        print("\n".join(scenario_names()))
        return 0
    lab = LabCluster(args.state_dir, port=args.port, host=args.host, version=args.version or "v1.30.2",
                     controller_delay=args.controller_delay, runtime=args.runtime)
    if args.scenario:
        lab.load_scenario(args.scenario)
    if args.version:
        lab.config.update({"version": args.version})
    lab.ensure_node()
    if args.pidfile:
        with open(args.pidfile, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, _interrupt)
    print(json.dumps({k: v for k, v in lab.endpoints().items() if "token" not in k}), flush=True)
    lab.start_compactor()
    try:
        lab.server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        lab.stop_compactor()
        lab.controllers.stop()
        if lab.controllers.runtime is not None:
            lab.controllers.runtime.stop_all()
        lab.cluster.store.close_all_watches()
        lab.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
