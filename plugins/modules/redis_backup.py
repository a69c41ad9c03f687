#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redis_backup
short_description: Back up Redis to S3 over the replication protocol, and verify the backup
version_added: 1.0.0
description:
  - With O(state=present), starts a background save (C(BGSAVE)) and waits for it without
    blocking the server, then copies a snapshot off the server over the protocol, as
    C(redis-cli --rdb) does (C(SYNC) after authenticating), so no access to the Redis
    host's file system is needed. The snapshot is streamed to the bucket, hashed and its
    keys counted per database on the way.
  - The backup is then verified, before its manifest is written - downloaded, compared
    with the recorded size and sha256, loaded into a scratch C(redis-server) on a free
    port of the node running the task, and its key counts compared with the counts taken
    from the snapshot. A backup that fails verification is deleted and the task fails.
  - The manifest (written last) holds the sha256, the size, the key count per database,
    the Redis version, the label and the release.
  - With O(state=verified), verifies an existing backup (by O(backup_id), else the newest
    whose label matches O(label)) the same way, and fails naming the backup when it does
    not load or does not match.
  - With O(ledger) and O(state=present), the backup is a ledger step (default C(phase3/backup)) whose
    outputs name it (id, label, release, master, environment).
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.redis
  - golive.core.aws
  - golive.core.backup_retention
  - golive.core.backup_identity
  - golive.core.k8s
  - golive.core.ledger
options:
  state:
    description:
      - V(present) takes a new backup; V(verified) verifies an existing one.
    type: str
    choices: [present, verified]
    default: present
  bucket:
    description:
      - Bucket that holds the backups.
    type: str
    required: true
  prefix:
    description:
      - Folder of the backups in the bucket; each backup is a folder below it.
    type: str
    default: redis
  label:
    description:
      - Label of the backup (letters, digits, C(.), C(_) and C(-)), for example the release
        id. Required with O(state=present). With O(state=verified) a glob that selects the
        newest matching backup when O(backup_id) is not given.
    type: str
  release:
    description:
      - Release id recorded in the manifest.
    type: str
  backup_id:
    description:
      - Backup to verify with O(state=verified). It must have been taken from this master.
    type: str
  if_exists:
    description:
      - V(reuse) returns the newest complete backup of this master (and environment) with the same label
        instead of taking a new one (so a re-run of a go-live does not back up twice).
    type: str
    choices: [new, reuse]
    default: new
  source:
    description:
      - Server to copy the snapshot from. V(replica) uses an online replica of the master,
        keeping the load off the master.
    type: str
    choices: [master, replica]
    default: master
  verify:
    description:
      - Verify a new backup before writing its manifest.
    type: bool
    default: true
  part_size_mb:
    description:
      - Size of the parts of the multipart upload, in MiB (at least 5).
    type: int
    default: 32
  redis_server_path:
    description:
      - The C(redis-server) program used for the scratch server that verifies a backup, on
        the node running the task.
    type: str
    default: redis-server
  timeout:
    description:
      - Time budget of the save and the copy, in seconds.
    type: float
    default: 3600.0
attributes:
  check_mode:
    support: full
    details: With O(state=present) check mode connects and reports what it would do; nothing
      is saved or uploaded. With O(state=verified) verification runs (it changes nothing).
  diff_mode:
    support: none
notes:
  - The copy needs a user allowed to run C(SYNC) (and C(REPLCONF)), like a replica.
  - Key counts are read from the snapshot itself while it streams. For value types the
    reader does not know (a newer RDB format), they come from C(INFO keyspace) at the
    time of the copy, and the manifest says so in C(keyspace_source).
  - Verification needs C(redis-server) on the node running the task, as recent as the
    server that wrote the snapshot.
seealso:
  - module: golive.core.redis_persistence
    description: Persistence settings.
  - module: golive.core.redis_health
    description: Health and replication.
"""

EXAMPLES = r"""
- name: Back up the cache before the go-live and prove the backup loads
  golive.core.redis_backup:
    bucket: prod-backups
    label: "{{ golive_release }}"
    release: "{{ golive_release }}"
    source: replica
    retention:
      keep_last: 14

- name: Verify the newest backup of a release
  golive.core.redis_backup:
    state: verified
    bucket: prod-backups
    label: "2026.11.3"
"""

RETURN = r"""
backup_id:
  description: Id of the backup taken or verified.
  returned: success
  type: str
  sample: 20261122T050102Z-2026.11.3-a1b2c3d4
backup:
  description: Summary of the manifest - key, size, sha256, Redis version, key counts per database.
  returned: success
  type: dict
location:
  description: URL of the manifest.
  returned: success
  type: str
  sample: s3://prod-backups/redis/20261122T050102Z-2026.11.3-a1b2c3d4/manifest.json
reused:
  description: Whether an existing backup was returned (O(if_exists=reuse)).
  returned: success
  type: bool
checks:
  description: The verification checks, in the collection's check model.
  returned: when verified
  type: list
  elements: dict
  sample:
    - id: redis.example
      title: What the check proves
      status: pass
      evidence: {}
      checklist: null
retention:
  description: Backups deleted by retention.
  returned: when O(retention) is set
  type: dict
undo:
  description: What the ledger records to restore this backup.
  returned: success
  type: dict
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set and O(state=present)
  type: dict
  sample:
    release: 2026.11.3
    environment: production
    run_id: 20261205T091200-1a2b3c4d
    step: phase3/backup
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder
from ansible_collections.golive.core.plugins.module_utils.redis import backup
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.storage import catalog
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws
from ansible_collections.golive.core.plugins.module_utils.storage import s3


def main():
    spec = rds.argument_spec()
    spec.update(aws.argument_spec())
    spec.update(
        state=dict(type="str", default="present", choices=["present", "verified"]),
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default="redis"),
        label=dict(type="str"),
        release=dict(type="str"),
        backup_id=dict(type="str"),
        if_exists=dict(type="str", default="new", choices=["new", "reuse"]),
        source=dict(type="str", default="master", choices=["master", "replica"]),
        verify=dict(type="bool", default=True),
        retention=catalog.retention_argument_spec(),
        part_size_mb=dict(type="int", default=32),
        redis_server_path=dict(type="str", default="redis-server"),
        timeout=dict(type="float", default=3600.0),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(catalog.identity_argument_spec())
    spec.update(k8s.argument_spec())  # where the ledger lives
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, required_if=[("state", "present", ["label"])])
    libs = [("redis", rds.REDIS_IMPORT_ERROR), ("boto3", aws.BOTO3_IMPORT_ERROR)]
    if module.params["ledger"]:
        libs.append(("kubernetes", k8s.KUBERNETES_IMPORT_ERROR))
    base.require_libs(module, libs)
    p = module.params

    def service():
        store = backup.store_from_params(p)
        server = rds.RedisServer.from_params(p)
        engine = backup.SnapshotEngine(server, store, p["source"], p["verify"], p["redis_server_path"], p["timeout"],
                                       p["part_size_mb"] * s3.MIB)
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=60) \
            if p["ledger"] and p["state"] == "present" else None
        result = with_recorder(p["ledger"] if kube else None, "phase3", "backup", lambda journal: backup.ensure(
            p["state"], store, backup.identity(server, p["environment"]), engine, p["label"], p["release"], p["backup_id"],
            p["if_exists"], p["retention"], module.check_mode, journal), kube, check_mode=module.check_mode)
        return base.finish_checks(result) if "checks" in result else result

    base.run(module, service)


if __name__ == "__main__":
    main()
