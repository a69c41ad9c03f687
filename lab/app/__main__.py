"""``python -m lab.app --image IMAGE --listen HOST:PORT``: run one lab image in the foreground."""

from __future__ import annotations

import argparse
import os
import sys

from lab.app import catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.app", description=__doc__)
    parser.add_argument("--image", required=True)
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--drain", type=float, default=1.0, help="seconds to keep answering after SIGTERM")
    args = parser.parse_args(argv)
    try:
        app_name, tag, build = catalog.resolve(args.image)
    except catalog.PullError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    host, port = args.listen.rsplit(":", 1)
    if app_name == "maintenance":
        from lab.app.web import Maintenance
        app = Maintenance("maintenance", tag, dict(os.environ))
    else:
        from lab.app.pager import build as build_pager
        app = build_pager(tag, build)
    print(f"{app_name} {tag} listening on {host}:{port}", flush=True)
    app.serve(host, int(port), args.drain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
