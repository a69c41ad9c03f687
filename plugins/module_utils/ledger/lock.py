# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run lock: one ``coordination.k8s.io`` Lease per environment.

The holder is a run (its id, user@host, the pid and start time of its ansible-playbook
process, the host's boot id, AWX job id, release). Every write the run makes to its
ledger first checks that it still holds the lock and renews it, and a step that acts for
long renews it from a heartbeat, so a run whose lock was broken stops writing at its
next step, and a live run's lease does not expire.

A lock is never taken from a live run:
- a holder whose process is gone from this host (the pid no longer exists, or is another
  process now, or the host restarted) is taken over by the next run, which records it and
  marks the old run interrupted;
- ``break_lock`` takes a lock whose holder ran elsewhere only after its lease expired
  (nobody renewed it for ``leaseDurationSeconds``), and never one whose process runs on
  this host or whose lease is fresh;
- ``force_break_lock`` names the holder's run id and takes the lock whatever the holder's
  state: for a host that is down but whose lease has not expired yet.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import getpass
import json
import os
import socket
import threading

from ansible_collections.golive.core.plugins.module_utils.common.clock import UTC, format_time, parse_time
from ansible_collections.golive.core.plugins.module_utils.common.errors import Conflict, GoliveError, Refused, Timeout
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.ledger.store import (
    LABEL_ENVIRONMENT,
    MANAGED_BY,
    name_part,
)

ANN_HOLDER = "golive.io/holder"
ANN_LAST_HOLDER = "golive.io/last-holder"


def micro_time(value):
    """A Lease's MicroTime: RFC 3339 with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_name(environment):
    return "golive-run.%s" % name_part(environment, "environment")


def controller_pid():
    """The pid of the ansible-playbook process this task belongs to (else our parent's).

    Ansible's workers are forks of it with the same command line: the outermost process
    of that chain is the one a person sees and can kill.
    """
    pid, found = os.getppid(), None
    for attempt in range(12):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
            with open("/proc/%d/stat" % pid) as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if any(os.path.basename(arg.decode("utf-8", "replace")).startswith("ansible-playbook") for arg in argv[:2]):
            found = pid
        elif found is not None:
            break
        if parent <= 1:
            break
        pid = parent
    return found or os.getppid()


def process_start(pid):
    """The start time of process ``pid`` (clock ticks since boot), or None when unknown.

    With the pid it tells a process from a later one that was given the same pid."""
    try:
        with open("/proc/%d/stat" % int(pid)) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError, TypeError):
        return None


def boot_id():
    """This host's boot id (changes when it restarts), or None when unknown."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def make_holder(run_id, release, job_id=None, user=None, host=None, pid=None):
    try:
        default_user = getpass.getuser()
    except (KeyError, OSError):
        default_user = str(os.getuid())
    pid = pid or controller_pid()
    return {"run_id": run_id, "release": release, "user": user or default_user,
            "host": host or socket.gethostname(), "pid": pid, "pid_start": process_start(pid),
            "boot_id": boot_id(), "job_id": str(job_id) if job_id else None}


def describe(holder):
    """``alice@ops-1 (pid 4242, AWX job 17), release R2, run <id>``."""
    holder = holder or {}
    extra = ["pid %s" % holder.get("pid")]
    if holder.get("job_id"):
        extra.append("AWX job %s" % holder["job_id"])
    return "%s@%s (%s), release %s, run %s" % (
        holder.get("user"), holder.get("host"), ", ".join(extra), holder.get("release"), holder.get("run_id"))


def _holder_of(lease):
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    if not (lease.get("spec") or {}).get("holderIdentity"):
        return None
    try:
        return json.loads(annotations.get(ANN_HOLDER) or "{}") or {"run_id": lease["spec"]["holderIdentity"]}
    except ValueError:
        return {"run_id": lease["spec"]["holderIdentity"]}


# How the holder of a lock is doing, as seen from here.
GONE = "gone"          # its process no longer exists on this host: safe to take over
ALIVE = "alive"        # its process runs on this host
ELSEWHERE = "elsewhere"  # it ran on another host: only its lease tells


def process_state(holder, hostname=None, this_boot=None, exists=None, started=None):
    """``(GONE|ALIVE|ELSEWHERE, why)`` for a holder, from this host's point of view.

    ``exists(pid)`` and ``started(pid)`` probe the process table (injected in tests).
    """
    hostname = hostname or socket.gethostname()
    if holder.get("host") != hostname:
        return ELSEWHERE, "it runs on host %s, not this one" % holder.get("host")
    if holder.get("boot_id") and this_boot and holder["boot_id"] != this_boot:
        return GONE, "this host restarted since it started"
    exists = exists or _pid_exists
    started = started or process_start
    try:
        pid = int(holder.get("pid"))
    except (TypeError, ValueError):
        return ELSEWHERE, "it names no process"
    if not exists(pid):
        return GONE, "its process (pid %d) no longer exists on this host" % pid
    if holder.get("pid_start") is not None and started(pid) not in (None, holder["pid_start"]):
        return GONE, "its process (pid %d) is gone; that pid is another process now" % pid
    return ALIVE, "its process (pid %d) is running on this host" % pid


def _pid_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def lease_age(lease, now):
    """``(seconds since the last renewal or None, lease duration in seconds)``."""
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime"))
    age = (now - renewed).total_seconds() if renewed else None
    return age, int(spec.get("leaseDurationSeconds") or 0)


# What ``decide_takeover`` answers.
TAKE = "take"
TAKE_OVER = "take-over"    # the holder is gone: taken without being asked, recorded as interrupted
BREAK = "break"            # break_lock, the holder's lease expired
FORCE = "force"            # force_break_lock named the holder's run
REFUSE = "refuse"


def decide_takeover(current, own_run_id, state, age, duration, break_lock=False, force=None):
    """Whether a run may take the lock held by ``current`` (pure): ``(decision, why)``.

    ``state`` is ``process_state(current)[0]``; ``age`` the seconds since the holder last
    renewed its lease (None when unknown) and ``duration`` the lease's length.
    """
    if not current or current.get("run_id") == own_run_id:
        return TAKE, None
    if force:
        if force == current.get("run_id"):
            return FORCE, "force_break_lock named run %s" % force
        return REFUSE, "force_break_lock names run %s, but the lock is held by run %s" % (force, current.get("run_id"))
    if state == GONE:
        return TAKE_OVER, None
    if not break_lock:
        return REFUSE, None
    if state == ALIVE:
        return REFUSE, "break_lock never takes the lock of a run whose process is running"
    if age is None or age <= duration:
        return REFUSE, "break_lock takes the lock of a run on another host only once its lease expired"
    return BREAK, None


class RunLock:
    def __init__(self, kube, namespace, environment, lease_seconds=900, clock=None):
        self.kube = kube
        self.namespace = namespace
        self.environment = environment
        self.name = lease_name(environment)
        self.lease_seconds = int(lease_seconds)
        self.clock = clock or (lambda: datetime.datetime.now(UTC))

    def _path(self, name=None):
        return resource_path("coordination.k8s.io/v1", "leases", self.namespace, name)

    def read(self):
        return self.kube.get(self._path(self.name), missing_ok=True)

    def holder(self):
        lease = self.read()
        return _holder_of(lease) if lease else None

    def _lease(self, holder, now, previous=None):
        spec = {"holderIdentity": holder["run_id"], "leaseDurationSeconds": self.lease_seconds,
                "acquireTime": micro_time(now), "renewTime": micro_time(now)}
        annotations = {ANN_HOLDER: json.dumps(holder, sort_keys=True),
                       "golive.io/since": format_time(now)}
        meta = {"name": self.name, "namespace": self.namespace, "annotations": annotations,
                "labels": {LABEL_ENVIRONMENT: self.environment, "app.kubernetes.io/managed-by": MANAGED_BY}}
        if previous is not None:
            meta["resourceVersion"] = previous["metadata"]["resourceVersion"]
            transitions = int((previous.get("spec") or {}).get("leaseTransitions") or 0)
            spec["leaseTransitions"] = transitions + 1
            last = ((previous.get("metadata") or {}).get("annotations") or {}).get(ANN_HOLDER) \
                or ((previous.get("metadata") or {}).get("annotations") or {}).get(ANN_LAST_HOLDER)
            if last:
                annotations[ANN_LAST_HOLDER] = last
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}

    @property
    def renew_every(self):
        """How often a run renews its lease while a step acts: a third of its length."""
        return max(1.0, self.lease_seconds / 3.0)

    def assess(self, lease, holder, now):
        """What is known of a holder: its process state, the lease's age and expiry."""
        state, why = process_state(holder, this_boot=boot_id())
        age, duration = lease_age(lease, now)
        return {"state": state, "why": why, "age": age, "duration": duration or self.lease_seconds,
                "expired": age is not None and age > (duration or self.lease_seconds)}

    def refusal(self, lease, holder, now, reason=None):
        """The refusal naming the holder, its age and what to type."""
        since = ((lease.get("metadata") or {}).get("annotations") or {}).get("golive.io/since") or "?"
        seen = self.assess(lease, holder, now)
        cause = "it is held by %s since %s" % (describe(holder), since)
        if seen["age"] is not None:
            cause += ", last renewed %ds ago" % int(seen["age"])
            cause += " (lease expired)" if seen["expired"] else " (lease expires in %ds)" % int(
                seen["duration"] - seen["age"])
        cause += "; %s" % seen["why"]
        if reason:
            cause += "; %s" % reason
        if seen["state"] == ALIVE:
            fix = ("That run is alive: wait for it to finish, or stop it (kill %s on %s) and run the same command "
                   "again; the lock of a run whose process is gone is taken over by itself"
                   % (holder.get("pid"), holder.get("host")))
        elif seen["expired"]:
            fix = ("If that run is dead, run the same command again with -e golive_break_lock=true (module option "
                   "break_lock); breaking it is recorded in the ledger")
        else:
            fix = ("Wait for that run to finish; its lease expires if nobody renews it, and -e golive_break_lock=true "
                   "takes it then. Only if you are sure that run is dead now (its host is down), run the same command "
                   "with -e golive_force_break_lock=%s (module option force_break_lock)" % holder.get("run_id"))
        return Refused("take", "the run lock of environment %s (Lease %s/%s)" % (self.environment, self.namespace,
                                                                                 self.name), cause, fix=fix)

    def acquire(self, holder, break_lock=False, force=None):
        """Take the lock for ``holder``.

        Returns None, or ``{"holder": <previous holder>, "how": take-over|break|force,
        "why": ...}`` when it took the lock from another run (``decide_takeover``).
        Raises ``Refused`` naming the holder when it may not.
        """
        for attempt in range(5):
            now = self.clock()
            lease = self.read()
            if lease is None:
                try:
                    self.kube.request("POST", self._path(), body=self._lease(holder, now),
                                      what="create Lease %s" % self.name)
                    return None
                except Conflict:
                    continue
            current = _holder_of(lease)
            taken = None
            if current and current.get("run_id") != holder["run_id"]:
                seen = self.assess(lease, current, now)
                decision, reason = decide_takeover(current, holder["run_id"], seen["state"], seen["age"],
                                                   seen["duration"], break_lock=break_lock, force=force)
                if decision == REFUSE:
                    raise self.refusal(lease, current, now, reason)
                taken = {"holder": current, "how": decision, "why": reason or seen["why"],
                         "renewed_ago": None if seen["age"] is None else int(seen["age"])}
            try:
                self.kube.request("PUT", self._path(self.name), body=self._lease(holder, now, lease),
                                  what="take Lease %s" % self.name)
                return taken
            except Conflict:
                continue
        raise Timeout("take", "the run lock of environment %s" % self.environment,
                      "the Lease kept changing while it was being taken")

    def check_held(self, run_id, renew=True):
        """Raise unless ``run_id`` holds the lock; renew it when asked.

        A renewal that loses a race to another writer of the same run (a module writing
        from several threads, or two tasks at once) needs no second try: the lease was
        just renewed, and a re-read shows whether the run still holds it.
        """
        lease = self.read()
        current = _holder_of(lease) if lease else None
        if not current or current.get("run_id") != run_id:
            cause = "run %s does not hold it" % run_id
            if current:
                cause += "; it is held by %s" % describe(current)
            raise Refused("write", "the ledger of environment %s" % self.environment, cause,
                          fix="Open a run first (ledger operation open) and write with its run_id; if this run "
                              "held the lock before, another run took it: look at that run before re-running")
        if not renew:
            return lease
        lease = dict(lease, spec=dict(lease["spec"], renewTime=micro_time(self.clock())))
        try:
            return self.kube.request("PUT", self._path(self.name), body=lease, what="renew Lease %s" % self.name)
        except Conflict:
            return self.check_held(run_id, renew=False)

    def release(self, run_id):
        """Let go of the lock if ``run_id`` holds it; True when it did."""
        for attempt in range(5):
            lease = self.read()
            current = _holder_of(lease) if lease else None
            if not current or current.get("run_id") != run_id:
                return False
            annotations = dict(lease["metadata"].get("annotations") or {})
            annotations[ANN_LAST_HOLDER] = annotations.pop(ANN_HOLDER, "")
            annotations.pop("golive.io/since", None)
            body = dict(lease, metadata=dict(lease["metadata"], annotations=annotations),
                        spec=dict(lease["spec"], holderIdentity=None))
            body["spec"].pop("holderIdentity")
            try:
                self.kube.request("PUT", self._path(self.name), body=body, what="release Lease %s" % self.name)
                return True
            except Conflict:
                continue
        return False


class Heartbeat:
    """Renews a run's lease every ``every`` seconds while one long step acts (a database
    restore, a rollout's wait), so a live run's lease never expires under it.

    It stops at the first refusal (the lock was taken: the step's next ledger write
    fails and says so) and keeps trying through transient errors."""

    def __init__(self, lock, run_id, every=None):
        self.lock = lock
        self.run_id = run_id
        self.every = float(every or lock.renew_every)
        self.renewals = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._loop, name="golive-lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.every):
            try:
                self.lock.check_held(self.run_id)
                self.renewals += 1
            except Refused as exc:
                self.error = exc
                return
            except GoliveError as exc:  # the API was unreachable this time: try again next beat
                self.error = exc

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
