"""The lab's foundations: state, ports, secrets, daemons and the service interface.

Services (``lab/services/``) build on this module only; ``lab/core.py`` (the ``Lab``
itself) imports the services, so nothing imports in a circle.

A lab is a state directory plus a set of services. Each service starts one or more
daemons on 127.0.0.1 through :meth:`LabContext.spawn`, which runs the daemon detached
(its own session and process group), writes a pidfile and a log file in the state
directory and waits until its ports accept connections.

Writing a service::

    from lab.base import Service

    class Echo(Service):
        name = "echo"
        processes = {"echo": ("echo",)}          # process name -> its port names

        def start(self, ctx):
            port = ctx.port("echo")
            ctx.spawn("echo", ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,fork", "EXEC:cat"],
                      ports=[port])
            return {"echo": {"host": ctx.host, "port": port}}

``start`` must be idempotent (a second call finds its daemons running and only returns
the endpoints) and returns a mapping of endpoint section name to a JSON-serialisable
dict. The default ``stop`` and ``status`` work from ``processes``. Register the service
in ``lab/services/__init__.py``.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import random
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".lab"
INVENTORY_FILE = REPO_ROOT / "inventories" / "lab" / "group_vars" / "all" / "lab_generated.yml"
STATE_ENV = "GOLIVE_LAB_STATE"
# Where daemons that run as another user keep their data when the state dir is out of
# their reach (a clone in a home directory of mode 700).
DAEMON_ROOT = Path(os.environ.get("GOLIVE_LAB_DAEMON_ROOT", "/var/tmp/golive-lab"))
HOST = "127.0.0.1"
# Below the Linux ephemeral range (32768-60999) so outgoing connections do not take them.
PORT_RANGE = (20000, 32000)


def default_state_dir() -> Path:
    value = os.environ.get(STATE_ENV)
    return Path(value).expanduser().resolve() if value else DEFAULT_STATE_DIR


class LabError(Exception):
    """A lab operation failed; the message is meant for the user as is."""


class ServiceError(LabError):
    """A daemon or service failed to start."""

    def __init__(self, service: str, cause: str, log: Path | str | None = None):
        self.service = service
        self.cause = cause
        self.log = str(log) if log else None
        where = f" (log: {self.log})" if self.log else ""
        super().__init__(f"Failed to start {service}: {cause}{where}")


# ---------------------------------------------------------------------------
# Process and port helpers
# ---------------------------------------------------------------------------

def port_is_free(port: int, udp: bool = False) -> bool:
    """True when 127.0.0.1:port can be bound for TCP (and UDP when asked)."""
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
    for kind in kinds:
        sock = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, port))
        except OSError:
            return False
        finally:
            sock.close()
    return True


def port_accepts(port: int, host: str = HOST, timeout: float = 0.25) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a pid, or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[2])


def pid_alive(pid: int) -> bool:
    """True for a live, non-zombie process (reaping it first if it is our child)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat and stat[1] == pgid and stat[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def tail(path: Path | str, lines: int = 3) -> str:
    """The last non-empty lines of a file, joined on one line."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines()
            if line.strip() and not line.startswith("--- ")]
    return " | ".join(kept[-lines:])


def _signal(pid: int, sig: int, group: bool = False) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        pass


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - a probe that fails is simply "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def remove_orphaned_daemon_dirs(root: Path | None = None) -> list[Path]:
    """Remove folders under ``DAEMON_ROOT`` whose state dir is gone or no longer names
    them (deleted by hand, or made again); returns what was removed."""
    root = root or DAEMON_ROOT
    removed = []
    for folder in sorted(root.glob("*")) if root.is_dir() else []:
        marker = folder / "STATE_DIR"
        if not marker.is_file():
            continue  # not one of ours
        state_file = Path(marker.read_text().strip()) / "state.json"
        try:
            owner = json.loads(state_file.read_text()).get("lab_id")
        except (OSError, ValueError):
            owner = None
        if owner != folder.name:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# ---------------------------------------------------------------------------
# Context handed to services
# ---------------------------------------------------------------------------

class LabContext:
    """State directory, persisted ports and secrets, and daemon management."""

    def __init__(self, state_dir: Path | str):
        self.state_dir = Path(state_dir).resolve()
        self.host = HOST
        self.repo_root = REPO_ROOT
        self._lock = threading.RLock()
        self.state_file = self.state_dir / "state.json"
        self.run_dir = self.state_dir / "run"
        self.log_dir = self.state_dir / "logs"
        self.state = self._load()
        self.started: dict = {}  # endpoint sections of the services started so far in this `up`

    # -- state ---------------------------------------------------------------
    def ensure_dirs(self) -> None:
        for path in (self.state_dir, self.run_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)
        # Daemons run as an unprivileged user (PostgreSQL) must reach their subdirectory.
        os.chmod(self.state_dir, 0o755)
        ignore = self.state_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Lab state: generated, never committed.\n*\n")

    def _load(self) -> dict:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            data = {}
        except ValueError as exc:
            raise LabError(f"Failed to read lab state {self.state_file}: {exc}") from exc
        data.setdefault("ports", {})
        data.setdefault("secrets", {})
        data.setdefault("services", {})
        return data

    def save(self) -> None:
        with self._lock:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True) + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.state_file)

    def data(self, service: str) -> dict:
        """A persisted, service-private dict (call :meth:`save` after changing it)."""
        with self._lock:
            return self.state["services"].setdefault(service, {})

    def path(self, *parts: str, owner: str | None = None, mode: int | None = None) -> Path:
        """A directory inside the state dir, created (and chowned to ``owner``) if needed."""
        path = self.state_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        if owner:
            chown(path, owner)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def reachable_by_others(self) -> bool:
        """Whether a daemon running as another user can reach the state dir (every
        parent searchable by others: not so in a home directory of mode 700)."""
        return all(p.stat().st_mode & 0o001 for p in self.state_dir.parents if p.exists())

    def record_started(self, sections: dict) -> None:
        """Keep a started service's endpoint sections for the services that depend on it."""
        with self._lock:
            self.started.update(sections)

    def daemon_path(self, name: str, *parts: str, user: str | None = None, mode: int = 0o755) -> Path:
        """A directory for a daemon that runs as ``user`` (created, owned by ``user``).

        Inside the state dir when ``user`` can reach it; otherwise (a clone in root's
        home) under ``/var/tmp/golive-lab/<id of this state dir>/``, recorded in the state
        (``lab status`` shows it, ``lab down --purge`` removes it) and linked from the
        state dir as ``<state>/<name>``. The id is made with the state, so a state dir
        deleted by hand and made again never meets the old data (whose passwords it no
        longer knows); such orphaned folders are removed here.
        """
        if user is None or self.reachable_by_others():
            top = self.state_dir / name
        else:
            with self._lock:
                lab_id = self.state.get("lab_id")
                if not lab_id:
                    lab_id = self.state["lab_id"] = secrets.token_hex(8)
                    self.save()
            shadow = DAEMON_ROOT / lab_id
            for path in (DAEMON_ROOT, shadow):
                path.mkdir(parents=True, exist_ok=True)
                os.chmod(path, 0o755)
            (shadow / "STATE_DIR").write_text(f"{self.state_dir}\n")
            remove_orphaned_daemon_dirs()
            top = shadow / name
            link = self.state_dir / name
            if link.is_symlink() and os.readlink(link) != str(top):
                link.unlink()
            if not link.is_symlink() and not link.exists():
                link.symlink_to(top)
        with self._lock:
            if self.state.setdefault("daemon_dirs", {}).get(name) != str(top):
                self.state["daemon_dirs"][name] = str(top)
                self.save()
        path = top.joinpath(*parts)
        for step in [top] + [top.joinpath(*parts[:i + 1]) for i in range(len(parts))]:
            step.mkdir(parents=True, exist_ok=True)
            if user:
                chown(step, user)
            os.chmod(step, mode)
        return path

    def daemon_dirs(self) -> dict:
        """Where daemons keep their data: ``{name: path}``."""
        return dict(self.state.get("daemon_dirs", {}))

    # -- secrets -------------------------------------------------------------
    def secret(self, name: str, nbytes: int = 18, b64: bool = False) -> str:
        """A random secret generated once and kept in state.json."""
        with self._lock:
            value = self.state["secrets"].get(name)
            if value is None:
                raw = secrets.token_bytes(nbytes)
                value = base64.b64encode(raw).decode() if b64 else secrets.token_urlsafe(nbytes)
                self.state["secrets"][name] = value
                self.save()
            return value

    # -- ports ---------------------------------------------------------------
    def held_ports(self) -> set[int]:
        """Ports declared by live lab processes of this state dir."""
        held: set[int] = set()
        for pidfile in self.run_dir.glob("*.pid"):
            info = self._read_pidfile(pidfile)
            if info and self._alive(info):
                held.update(info.get("ports", []))
        return held

    def port(self, name: str, udp: bool = False) -> int:
        """The persisted port called ``name``; picks (or re-picks) a free one if needed."""
        with self._lock:
            ports = self.state["ports"]
            current = ports.get(name)
            others = {p for n, p in ports.items() if n != name}
            if current and current not in others:
                if current in self.held_ports() or port_is_free(current, udp):
                    return current
            lo, hi = PORT_RANGE
            rng = random.SystemRandom()
            for _ in range(500):
                candidate = rng.randint(lo, hi)
                if candidate in others or candidate == current:
                    continue
                if port_is_free(candidate, udp):
                    ports[name] = candidate
                    self.save()
                    return candidate
            raise LabError(f"Failed to allocate a port for {name}: no free port in {lo}-{hi}")

    def known_port(self, name: str) -> int | None:
        return self.state["ports"].get(name)

    # -- daemons ------------------------------------------------------------
    def pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @staticmethod
    def _read_pidfile(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(info: dict) -> bool:
        pid = info.get("pid")
        if not pid or not pid_alive(pid):
            return False
        match = info.get("match")
        return not match or match in _cmdline(pid)

    def running_pid(self, name: str) -> int | None:
        info = self._read_pidfile(self.pidfile(name))
        if info and self._alive(info):
            return info["pid"]
        return None

    def process_info(self, name: str) -> dict | None:
        return self._read_pidfile(self.pidfile(name))

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        ports: Iterable[int] = (),
        user: str | None = None,
        cwd: Path | str | None = None,
        env: dict | None = None,
        stop_signal: int = signal.SIGTERM,
        timeout: float = 30.0,
        ready: Callable[[], bool] | None = None,
        match: str | None = None,
    ) -> int:
        """Start ``argv`` as a detached daemon unless it already runs; return its pid.

        The daemon gets its own session and process group, stdin from /dev/null and
        stdout/stderr appended to ``logs/<name>.log``. Waits until every port accepts a
        TCP connection and ``ready()`` (if given) returns true; raises
        :class:`ServiceError` quoting the end of the log when the daemon exits or the
        deadline passes.
        """
        ports = list(ports)
        log = self.log_path(name)
        pid = self.running_pid(name)
        if pid:
            return pid
        exe = shutil.which(argv[0])
        if not exe:
            raise ServiceError(name, f"{argv[0]} not found (install it or fix PATH)", log)
        self.ensure_dirs()
        for port in ports:
            if not port_is_free(port):
                raise ServiceError(name, f"port {port} on {HOST} is already in use", log)
        match = match or os.path.basename(argv[0])
        kwargs: dict = {}
        if user:
            entry = pwd.getpwnam(user)
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
            child_env = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user}
        else:
            child_env = {"HOME": os.environ.get("HOME", "/root")}
        child_env.update(
            PATH=os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
            TZ="UTC",
        )
        child_env.update(env or {})
        with open(log, "ab") as logfh:
            logfh.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                        f"starting: {shlex.join(argv)}\n".encode())
            logfh.flush()
            try:
                proc = subprocess.Popen(
                    [exe] + list(argv[1:]),
                    stdin=subprocess.DEVNULL,
                    stdout=logfh,
                    stderr=subprocess.STDOUT,
                    cwd=str(cwd) if cwd else str(self.state_dir),
                    env=child_env,
                    start_new_session=True,
                    close_fds=True,
                    **kwargs,
                )
            except OSError as exc:
                raise ServiceError(name, f"cannot execute {exe}: {exc.strerror}", log) from exc
        info = {"pid": proc.pid, "match": match, "ports": ports,
                "stop_signal": int(stop_signal), "argv": argv}
        tmp = self.pidfile(name).with_suffix(".tmp")
        tmp.write_text(json.dumps(info) + "\n")
        os.replace(tmp, self.pidfile(name))

        deadline = time.monotonic() + timeout
        while True:
            code = proc.poll()
            if code is not None:
                self.pidfile(name).unlink(missing_ok=True)
                last = tail(log)
                cause = f"exited with code {code}" + (f": {last}" if last else "")
                raise ServiceError(name, cause, log)
            if all(port_accepts(p) for p in ports):
                try:
                    ok = ready() if ready else True
                except Exception:  # noqa: BLE001 - not ready yet
                    ok = False
                if ok:
                    return proc.pid
            if time.monotonic() >= deadline:
                self.stop_process(name)
                last = tail(log)
                cause = f"not ready after {timeout:.0f}s" + (f": {last}" if last else "")
                raise ServiceError(name, cause, log)
            time.sleep(0.05)

    def stop_process(self, name: str, timeout: float = 15.0) -> bool:
        """Stop a daemon: its stop signal, then SIGKILL to its group after ``timeout``.

        Returns True when something was running.
        """
        pidfile = self.pidfile(name)
        info = self._read_pidfile(pidfile)
        if not info:
            pidfile.unlink(missing_ok=True)
            return False
        pid = info["pid"]
        was_running = self._alive(info)
        if was_running:
            _signal(pid, info.get("stop_signal", signal.SIGTERM))
            if not wait_for(lambda: not pid_alive(pid), timeout, 0.05):
                _signal(pid, signal.SIGKILL, group=True)
                wait_for(lambda: not pid_alive(pid), 5, 0.05)
        # Leftover children of the group (e.g. backends of a killed postmaster).
        if was_running and group_members(pid):
            if not wait_for(lambda: not group_members(pid), 2.0, 0.05):
                _signal(pid, signal.SIGKILL, group=True)
                wait_for(lambda: not group_members(pid), 5.0, 0.05)
        pidfile.unlink(missing_ok=True)
        return was_running

    def process_status(self, name: str) -> dict:
        info = self._read_pidfile(self.pidfile(name)) or {}
        alive = bool(info) and self._alive(info)
        return {
            "name": name,
            "running": alive,
            "pid": info.get("pid") if alive else None,
            "ports": info.get("ports", []) if info else [],
        }

    def run(self, argv: list[str], *, user: str | None = None, env: dict | None = None,
            service: str = "lab", log: Path | None = None, timeout: float = 120) -> str:
        """Run a one-shot command; raise ServiceError with its output on failure."""
        exe = shutil.which(argv[0])
        if not exe:
            raise ServiceError(service, f"{argv[0]} not found (install it or fix PATH)", log)
        kwargs: dict = {}
        child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                     "LC_ALL": "C.UTF-8", "HOME": os.environ.get("HOME", "/root")}
        if user:
            entry = pwd.getpwnam(user)
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
            child_env["HOME"] = entry.pw_dir
        child_env.update(env or {})
        proc = subprocess.run([exe] + list(argv[1:]), stdin=subprocess.DEVNULL,
                              capture_output=True, env=child_env, cwd=str(self.state_dir),
                              timeout=timeout, **kwargs)
        output = (proc.stdout + proc.stderr).decode(errors="replace")
        if log:
            with open(log, "a") as fh:
                fh.write(f"--- {shlex.join(argv)}\n{output}")
        if proc.returncode != 0:
            last = " | ".join([l for l in output.splitlines() if l.strip()][-3:])
            raise ServiceError(service, f"{os.path.basename(argv[0])} exited with code "
                                        f"{proc.returncode}: {last}", log)
        return output


def chown(path: Path | str, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def server_tls(ctx: "LabContext", folder: Path, name: str, owner: str | None = None) -> dict:
    """A server certificate for 127.0.0.1 and localhost from the lab's CA (the API server's,
    ``<state>/k8s/ca.crt``), with the CA beside it, in ``folder`` (owned by ``owner``, key
    mode 600): ``{"cert", "key", "ca", "ca_file"}``; ``ca_file`` is the CA clients verify
    with. Issued once; kept across restarts."""
    from lab.k8s.pki import CA

    ca = CA.load_or_create(ctx.state_dir / "k8s")
    files = {"cert": folder / "server.crt", "key": folder / "server.key", "ca": folder / "ca.crt"}
    if not all(path.exists() for path in files.values()):
        cert, key = ca.issue("golive-lab-%s" % name, ["localhost"], [ctx.host])
        write_file(files["key"], key.decode(), 0o600, owner=owner)
        write_file(files["cert"], cert.decode(), 0o644, owner=owner)
    write_file(files["ca"], ca.cert_pem.decode(), 0o644, owner=owner)
    return dict(files, ca_file=ctx.state_dir / "k8s" / "ca.crt")


def write_file(path: Path, text: str, mode: int = 0o644, owner: str | None = None) -> bool:
    """Write ``text`` if it differs; returns True when the file changed."""
    try:
        if path.read_text() == text:
            changed = False
        else:
            changed = True
    except FileNotFoundError:
        changed = True
    if changed:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.chmod(tmp, mode)
        if owner:
            chown(tmp, owner)
        os.replace(tmp, path)
    return changed


# ---------------------------------------------------------------------------
# Service interface
# ---------------------------------------------------------------------------

class Service:
    """One external system of the lab, made of one or more daemons.

    ``processes`` maps each daemon's process name (its pidfile/log name) to the names of
    its ports; it drives the default :meth:`stop` and :meth:`status`. ``depends`` names
    services that must be started first (``up`` starts independent services in
    parallel).
    """

    name: str = ""
    processes: dict[str, tuple[str, ...]] = {}
    depends: tuple[str, ...] = ()

    def start(self, ctx: LabContext) -> dict:
        """Start what is not running; return {section: endpoint dict}."""
        raise NotImplementedError

    def stop(self, ctx: LabContext) -> None:
        for proc in reversed(list(self.processes)):
            ctx.stop_process(proc)

    def status(self, ctx: LabContext) -> dict:
        procs = [ctx.process_status(p) for p in self.processes]
        return {"running": bool(procs) and all(p["running"] for p in procs), "processes": procs}
