# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release records stored as ConfigMaps in the cluster.

One head ConfigMap per release and environment (``golive-ledger.<environment>.<release>``
in the ledger namespace) holds the record as JSON, or, past the object size limit, the
digest and the number of chunk ConfigMaps of its current generation. Chunks are written
first, under a new generation's names; the head is then replaced with a resourceVersion
precondition; only then are older generations deleted. So a reader always finds a
complete record, and of two writers racing, the second gets 409 Conflict, re-reads, and
applies its edit to the first one's record (``update``): no step is lost.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import random
import re
import tempfile
import time

from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.common.release import RULE, is_release_id
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Timeout,
    VerificationFailed,
    describe_exception,
)

DEFAULT_NAMESPACE = "golive-system"
MANAGED_BY = "golive.core"
LABEL_KIND = "golive.io/ledger"
LABEL_RELEASE = "golive.io/release"
LABEL_ENVIRONMENT = "golive.io/environment"
LABEL_HEAD = "golive.io/ledger-head"
ANN_GENERATION = "golive.io/generation"
DATA_KEY = "record.json"
# A ConfigMap's data may not exceed 1 MiB; leave room for keys and metadata.
CHUNK_BYTES = 900 * 1024

_NAME_OK = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def name_part(text, what):
    """``text`` as part of an object name: lower-case, ``_`` as ``-``; when that changes
    it (``R2`` and ``r2`` must not share a record), a digest of the exact text is added."""
    text = str(text or "")
    if not is_release_id(text):
        raise InvalidInput("use", "%s %r" % (what, text), "it must be %s" % RULE)
    part = text.lower().replace("_", "-")
    if part != text:
        part += "-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
    return part


def head_name(environment, release):
    name = "golive-ledger.%s.%s" % (name_part(environment, "environment"), name_part(release, "release id"))
    if len(name) > 253 or not _NAME_OK.fullmatch(name):
        raise InvalidInput("name", "the ledger of release %s" % release, "the name %r is not a valid object name" % name)
    return name


def encode(record):
    """The record as compact ASCII JSON (so characters are bytes when chunking)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def split(text, size=CHUNK_BYTES):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class LedgerStore:
    """Read and write release records in namespace ``namespace``.

    The ledger is handed its storage (``kube``): an object with ``get(path, missing_ok)``,
    ``list(path, label_selector)`` and ``request(method, path, body=, query=, what=)`` answering
    the Kubernetes API's JSON (``k8s.client.Kube`` is one); it imports nothing of the k8s package.
    """

    def __init__(self, kube, namespace=DEFAULT_NAMESPACE, chunk_bytes=CHUNK_BYTES):
        self.kube = kube
        self.namespace = namespace
        self.chunk_bytes = chunk_bytes
        # name -> (resourceVersion, generation) of the head as last read, so a write over
        # that version knows the generation without reading the head again.
        self._seen = {}

    def _path(self, name=None):
        return resource_path("v1", "configmaps", self.namespace, name)

    def ensure_namespace(self):
        if self.kube.get(resource_path("v1", "namespaces", name=self.namespace), missing_ok=True) is not None:
            return False
        try:
            self.kube.request("POST", resource_path("v1", "namespaces"), body={
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}}},
                what="create namespace %s" % self.namespace)
        except Conflict:
            return False  # created meanwhile by another run
        return True

    # -- reading ---------------------------------------------------------------------
    def read(self, environment, release):
        """``(record, resourceVersion)``, or ``(None, None)`` when the release has none."""
        name = head_name(environment, release)
        for attempt in range(5):
            head = self.kube.get(self._path(name), missing_ok=True)
            if head is None:
                return None, None
            try:
                record = self._decode(head)
                version = head["metadata"]["resourceVersion"]
                self._seen[name] = (version, (head["metadata"].get("annotations") or {}).get(ANN_GENERATION))
                return record, version
            except NotFound:
                continue  # a chunk of that generation was replaced meanwhile: read the new head
        raise Timeout("read", "the ledger of release %s" % release, "it kept changing while being read")

    def environments_of(self, release):
        """The environments that hold a ledger of ``release`` (a release id given in the wrong
        environment is named, not just missing)."""
        if not is_release_id(str(release or "")):
            return []
        heads = self.kube.list(self._path(), label_selector="%s=head,%s=%s" % (LABEL_KIND, LABEL_RELEASE, release))
        return sorted(set((h["metadata"].get("labels") or {}).get(LABEL_ENVIRONMENT) for h in heads) - {None})

    def _decode(self, head):
        data = head.get("data") or {}
        name = head["metadata"]["name"]
        if DATA_KEY in data:
            text = data[DATA_KEY]
        else:
            try:
                chunks = int(data.get("chunks", "0"))
                generation = data["generation"]
            except (KeyError, ValueError):
                raise VerificationFailed("read", "ledger %s/%s" % (self.namespace, name),
                                         "it holds neither %s nor a chunk index" % DATA_KEY)
            parts = []
            for index in range(chunks):
                chunk = self.kube.get(self._path(chunk_name(name, generation, index)), missing_ok=True)
                if chunk is None:
                    raise NotFound("read", "ledger chunk %d of %s" % (index, name), "missing")
                parts.append((chunk.get("data") or {}).get("part", ""))
            text = "".join(parts)
            if hashlib.sha256(text.encode("ascii")).hexdigest() != data.get("sha256"):
                raise VerificationFailed("read", "ledger %s/%s" % (self.namespace, name),
                                         "its chunks do not match the digest in its head")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise VerificationFailed("read", "ledger %s/%s" % (self.namespace, name), describe_exception(exc))

    # -- writing ---------------------------------------------------------------------
    def write(self, environment, release, record, version):
        """Store ``record`` over the head at ``version`` (``None``: the head must not exist).

        Raises ``Conflict`` when someone wrote in between; returns the new resourceVersion.
        """
        name = head_name(environment, release)
        text = encode(record)
        labels = {LABEL_KIND: "head", LABEL_RELEASE: release, LABEL_ENVIRONMENT: environment,
                  "app.kubernetes.io/managed-by": MANAGED_BY}
        previous = None
        if version is not None:
            seen_version, previous = self._seen.get(name, (None, None))
            if seen_version != version:
                current = self.kube.get(self._path(name), missing_ok=True)
                previous = ((current or {}).get("metadata", {}).get("annotations") or {}).get(ANN_GENERATION)
        generation = str(int(previous or 0) + 1)
        if len(text) <= self.chunk_bytes:
            data = {DATA_KEY: text}
        else:
            parts = split(text, self.chunk_bytes)
            for index, part in enumerate(parts):
                self._put_chunk(name, generation, index, part, release, environment)
            data = {"chunks": str(len(parts)), "generation": generation,
                    "sha256": hashlib.sha256(text.encode("ascii")).hexdigest()}
        head = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels,
                             "annotations": {ANN_GENERATION: generation}},
                "data": data}
        try:
            if version is None:
                answer = self.kube.request("POST", self._path(), body=head, what="create ledger %s" % name)
            else:
                head["metadata"]["resourceVersion"] = version
                answer = self.kube.request("PUT", self._path(name), body=head, what="update ledger %s" % name)
        except Conflict:
            if DATA_KEY not in data:
                self._delete_generations(name, keep=None, only=generation)
            raise
        self._delete_generations(name, keep=generation if DATA_KEY not in data else None)
        return answer["metadata"]["resourceVersion"]

    def _put_chunk(self, name, generation, index, part, release, environment):
        cname = chunk_name(name, generation, index)
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": cname, "namespace": self.namespace,
                             "labels": {LABEL_KIND: "chunk", LABEL_HEAD: name, LABEL_RELEASE: release,
                                        LABEL_ENVIRONMENT: environment, "app.kubernetes.io/managed-by": MANAGED_BY},
                             "annotations": {ANN_GENERATION: generation}},
                "data": {"part": part}}
        try:
            self.kube.request("POST", self._path(), body=body, what="create ledger chunk %s" % cname)
        except Conflict:  # left by a writer that lost its race: ours replaces it
            self.kube.request("PUT", self._path(cname), body=body, what="replace ledger chunk %s" % cname)

    def _delete_generations(self, name, keep=None, only=None):
        for item in self.kube.list(self._path(), label_selector="%s=chunk,%s=%s" % (LABEL_KIND, LABEL_HEAD, name)):
            gen = (item["metadata"].get("annotations") or {}).get(ANN_GENERATION)
            if gen == keep or (only is not None and gen != only):
                continue
            try:
                self.kube.request("DELETE", self._path(item["metadata"]["name"]),
                                  what="delete ledger chunk %s" % item["metadata"]["name"])
            except NotFound:
                pass

    def update(self, environment, release, edit, deadline, create=None):
        """Apply ``edit(record) -> record`` with optimistic concurrency; return the stored record.

        ``create()`` makes the first record when none exists (``None``: the record must
        exist). An edit that changes nothing writes nothing.
        """
        attempts = 0
        while True:
            attempts += 1
            record, version = self.read(environment, release)
            if record is None:
                if create is None:
                    raise NotFound("find", "the ledger of release %s in environment %s" % (release, environment),
                                   "no record in namespace %s" % self.namespace,
                                   fix="Check the release id and environment; a release's record is made when its "
                                       "run opens")
                record = create()
            updated = edit(record)
            if updated == record and version is not None:
                return record
            try:
                self.write(environment, release, updated, version)
                return updated
            except Conflict:
                if deadline.expired() or attempts >= 20:
                    raise Conflict("update", "the ledger of release %s" % release,
                                   "it kept changing under %d attempts" % attempts, retryable=False)
                # Writers that lost a race spread out before reading again.
                time.sleep(random.uniform(0, 0.02 * min(attempts, 10)))


def chunk_name(head, generation, index):
    return "%s.g%s.%d" % (head, generation, index)


def write_copy(directory, record):
    """Write the record to ``<directory>/ledger-<environment>-<release>.json`` atomically."""
    if not directory:
        return None
    name = "ledger-%s-%s.json" % (record.get("environment"), record.get("release"))
    path = os.path.join(directory, name)
    try:
        os.makedirs(directory, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".ledger-")
        with os.fdopen(handle, "w") as out:
            json.dump(record, out, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInput("write", "the ledger copy %s" % path, describe_exception(exc),
                           fix="Set artifact_dir to a writable directory")
    return path
