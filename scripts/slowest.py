#!/usr/bin/env python3
"""Print the slowest tests of the JUnit XML reports pytest wrote (``make test`` ends with it),
so a run's cost is seen where it grows."""

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def cases(paths):
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            print(f"slowest: cannot read {path}: {exc}", file=sys.stderr)
            continue
        for case in root.iter("testcase"):
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            yield float(case.get("time") or 0), name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reports", nargs="*", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--elapsed", type=float, help="seconds the whole run took")
    args = parser.parse_args(argv)
    found = sorted(cases(p for p in args.reports if p.exists()), reverse=True)
    print(f"===== the {min(args.top, len(found))} slowest tests (setup + call + teardown) =====")
    for seconds, name in found[:args.top]:
        print(f"{seconds:8.1f}s  {name}")
    if args.elapsed is not None:
        minutes, seconds = divmod(int(args.elapsed), 60)
        print(f"===== make test took {minutes}m{seconds:02d}s =====")
    return 0


if __name__ == "__main__":
    sys.exit(main())
