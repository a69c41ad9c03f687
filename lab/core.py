"""The lab: a state directory plus the services registered in ``lab/services/``, started
in parallel, stopped, listed, and written out as endpoints and an inventory.

The foundations (state, ports, secrets, daemons, the ``Service`` interface) live in
``lab/base.py``; their names are re-exported here for the code that imports them from
``lab.core``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab.base import (  # noqa: F401 - some re-exported
    DEFAULT_STATE_DIR,
    INVENTORY_FILE,
    LabContext,
    LabError,
    REPO_ROOT,
    Service,
    ServiceError,
    default_state_dir,
    pid_alive,
    write_file,
)
from lab.services import SERVICES

# ---------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------

class Lab:
    """The lab of one state directory::

        lab = Lab()            # default state dir (GOLIVE_LAB_STATE or <repo>/.lab)
        eps = lab.up()         # start what is not running; returns the endpoints dict
        lab.status()           # {service: {"running": bool, "processes": [...]}}
        lab.down()             # stop everything (purge=True also deletes the state dir)
    """

    def __init__(self, state_dir: Path | str | None = None, services: list[Service] | None = None,
                 write_inventory: bool = True):
        self.state_dir = Path(state_dir).resolve() if state_dir else default_state_dir()
        if services is None:
            services = list(SERVICES)
        self.services = services
        # A lab of its own (e.g. in a test) passes False to leave inventories/lab alone.
        self.write_inventory = write_inventory
        self.endpoints_file = self.state_dir / "endpoints.json"

    # -- helpers -------------------------------------------------------------
    def context(self) -> LabContext:
        return LabContext(self.state_dir)

    def _lock(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.state_dir / "lab.lock", "w")
        fcntl.flock(fh, fcntl.LOCK_EX)
        return fh

    # -- operations ----------------------------------------------------------
    def up(self, clusters: int | None = None) -> dict:
        """Start every service that is not running; return the endpoints dict. ``clusters``
        sets how many Kubernetes clusters run (kept in the state; lab/services/clusters.py)."""
        with self._lock():
            ctx = self.context()
            ctx.ensure_dirs()
            if clusters is not None:
                from lab.services.clusters import set_count
                set_count(ctx, clusters)
            results: dict[str, dict] = {}
            errors: dict[str, str] = {}
            by_name = {s.name: s for s in self.services}

            submitted = threading.Event()

            def run(service: Service, futures: dict) -> dict:
                submitted.wait()
                for dep in service.depends:
                    if dep in futures:
                        try:
                            futures[dep].result()
                        except Exception as exc:  # noqa: BLE001
                            raise ServiceError(service.name, f"{dep} did not start") from exc
                started = service.start(ctx)
                ctx.record_started(started)
                return started

            futures: dict = {}
            with ThreadPoolExecutor(max_workers=max(1, len(self.services))) as pool:
                for service in self.services:
                    unknown = [d for d in service.depends if d not in by_name]
                    if unknown:
                        errors[service.name] = (f"Failed to start {service.name}: "
                                                f"unknown dependency {unknown}")
                        continue
                    futures[service.name] = pool.submit(run, service, futures)
                submitted.set()
                for name, future in futures.items():
                    try:
                        results[name] = future.result()
                    except LabError as exc:
                        errors[name] = str(exc)
                    except Exception as exc:  # noqa: BLE001 - report, never a traceback
                        errors[name] = f"Failed to start {name}: {type(exc).__name__}: {exc}"
            ctx.save()
            endpoints = self._merge(results)
            self.write_outputs(endpoints)
            if errors:
                raise LabError("\n".join(errors[s.name] for s in self.services if s.name in errors))
            return endpoints

    def down(self, purge: bool = False) -> None:
        """Stop every lab process of this state dir; ``purge`` also deletes the state dir."""
        if not self.state_dir.exists():
            return
        with self._lock() as lockfh:
            ctx = self.context()
            errors = []
            for service in reversed(self.services):
                try:
                    service.stop(ctx)
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"Failed to stop {service.name}: {exc}")
            # Anything else this state dir started (e.g. a service no longer registered).
            for pidfile in sorted(ctx.run_dir.glob("*.pid")):
                ctx.stop_process(pidfile.stem)
            if purge:
                lockfh.close()
                for path in ctx.daemon_dirs().values():
                    if not str(path).startswith(str(self.state_dir) + os.sep):
                        shutil.rmtree(Path(path).parent, ignore_errors=True)
                shutil.rmtree(self.state_dir, ignore_errors=True)
                if self.write_inventory:
                    INVENTORY_FILE.unlink(missing_ok=True)
            if errors:
                raise LabError("\n".join(errors))

    def status(self) -> dict:
        ctx = self.context()
        return {s.name: s.status(ctx) for s in self.services}

    def running(self) -> bool:
        """True when every service runs."""
        return all(s["running"] for s in self.status().values())

    def any_running(self) -> bool:
        """True when some process of this lab runs."""
        ctx = self.context()
        if not ctx.run_dir.exists():
            return False
        return any(ctx.running_pid(p.stem) for p in ctx.run_dir.glob("*.pid"))

    def endpoints(self) -> dict:
        """The endpoints written by the last ``up``."""
        try:
            return json.loads(self.endpoints_file.read_text())
        except FileNotFoundError:
            raise LabError(f"Failed to read lab endpoints: {self.endpoints_file} is missing; "
                           f"run 'python -m lab up' first") from None

    def env_lines(self, endpoints: dict | None = None) -> list[str]:
        endpoints = endpoints if endpoints is not None else self.endpoints()
        lines = [f"export GOLIVE_LAB_STATE={shlex.quote(str(self.state_dir))}",
                 f"export GOLIVE_LAB_ENDPOINTS={shlex.quote(str(self.endpoints_file))}"]
        for section, values in endpoints.items():
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if value is None:
                    continue
                if isinstance(value, list):
                    value = ",".join(
                        f"{v['host']}:{v['port']}" if isinstance(v, dict) and "host" in v
                        else str(v)
                        for v in value)
                elif isinstance(value, dict):
                    value = json.dumps(value, sort_keys=True)
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                var = f"GOLIVE_{section}_{key}".upper().replace("-", "_")
                lines.append(f"export {var}={shlex.quote(str(value))}")
        return lines

    # -- outputs -------------------------------------------------------------
    def _merge(self, results: dict) -> dict:
        try:
            previous = json.loads(self.endpoints_file.read_text())
        except (OSError, ValueError):
            previous = {}
        endpoints: dict = {}
        for service in self.services:
            sections = results.get(service.name)
            if sections:
                endpoints.update(sections)
        # Keep last known sections of services that did not start this time.
        for key, value in previous.items():
            endpoints.setdefault(key, value)
        return endpoints

    def write_outputs(self, endpoints: dict) -> None:
        text = json.dumps(endpoints, indent=2, sort_keys=True) + "\n"
        write_file(self.endpoints_file, text, 0o600)
        # Next to the state, for `ansible-playbook -e @<state>/golive_lab.yml`. The lab
        # inventory reads endpoints.json of the state dir GOLIVE_LAB_STATE names (else the
        # checkout's .lab), so a lab in any state dir works with it unchanged; the copy it
        # once kept in its group_vars is gone (a stale one would win over the state dir).
        write_inventory(endpoints, self.state_dir, self.state_dir / "golive_lab.yml")
        if self.write_inventory:
            INVENTORY_FILE.unlink(missing_ok=True)


def write_inventory(endpoints: dict, state_dir: Path, path: Path = INVENTORY_FILE) -> bool:
    import yaml

    header = (
        "# Generated by `python -m lab up` / `python -m lab env`: the endpoints and\n"
        "# credentials of the local lab (state dir: %s). Do not edit; do not commit.\n"
        % state_dir
    )
    body = yaml.safe_dump({"golive_lab": endpoints}, default_flow_style=False, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
    return write_file(path, "---\n" + header + body, 0o600)
