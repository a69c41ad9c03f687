# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run lock: one ``coordination.k8s.io`` Lease per environment.

The holder is a run (its id, user@host, pid, AWX job id, release). Every write the
run makes to its ledger first checks that it still holds the lock and renews it, so a
run whose lock was broken stops writing at its next step. A lease left by a killed run
is never taken over by time alone: only ``break_lock``, which the ledger records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import getpass
import json
import os
import socket

from ansible_collections.golive.core.plugins.module_utils.common.clock import UTC, format_time, parse_time
from ansible_collections.golive.core.plugins.module_utils.common.errors import Conflict, Refused, Timeout
from ansible_collections.golive.core.plugins.module_utils.k8s.client import resource_path
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


def make_holder(run_id, release, job_id=None, user=None, host=None, pid=None):
    try:
        default_user = getpass.getuser()
    except (KeyError, OSError):
        default_user = str(os.getuid())
    return {"run_id": run_id, "release": release, "user": user or default_user,
            "host": host or socket.gethostname(), "pid": pid or controller_pid(),
            "job_id": str(job_id) if job_id else None}


def describe(holder):
    """``alice@ops-1 (pid 4242, AWX job 17), release R2``."""
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


def _pid_gone(holder):
    """True when the holder ran on this host and its process no longer exists."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder.get("pid")), 0)
    except ProcessLookupError:
        return True
    except (OSError, TypeError, ValueError):
        return False
    return False


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

    def refusal(self, lease, holder, now):
        since = ((lease.get("metadata") or {}).get("annotations") or {}).get("golive.io/since") or "?"
        renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
        age = int((now - renewed).total_seconds()) if renewed else None
        cause = "it is held by %s since %s" % (describe(holder), since)
        if age is not None:
            cause += ", last renewed %ds ago" % age
            if age > int((lease.get("spec") or {}).get("leaseDurationSeconds") or self.lease_seconds):
                cause += " (expired)"
        if _pid_gone(holder):
            cause += "; that process no longer exists on this host"
        return Refused("take", "the run lock of environment %s (Lease %s/%s)" % (self.environment, self.namespace,
                                                                                 self.name), cause,
                       fix="Wait for that run to finish. If it was killed, re-run with break_lock=true "
                           "(golive_break_lock=true); breaking it is recorded in the ledger")

    def acquire(self, holder, break_lock=False):
        """Take the lock for ``holder``; return the holder whose lock was broken, or None.

        Refuses (``Refused``) when another run holds it and ``break_lock`` is false.
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
            broken = None
            if current and current.get("run_id") != holder["run_id"]:
                if not break_lock:
                    raise self.refusal(lease, current, now)
                broken = current
            try:
                self.kube.request("PUT", self._path(self.name), body=self._lease(holder, now, lease),
                                  what="take Lease %s" % self.name)
                return broken
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
            cause = "this run (%s) no longer holds it" % run_id
            if current:
                cause += "; it is held by %s" % describe(current)
            raise Refused("write", "the ledger of environment %s" % self.environment, cause,
                          fix="Another run broke or took the lock: stop and look at its ledger before re-running")
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
