"""The lab's Pod runtime bookkeeping, without processes: the listing that tests and the
lab's Prometheus read (``pods.json``, ``file_sd.json``) always ends at the runtime's state."""

import json
import threading

from lab.k8s.runtime import PodRuntime


class _Proc:  # what the listing reads of a PodProcess
    def __init__(self, n):
        self.namespace, self.name, self.uid = "pager", f"pager-{n}", f"uid-{n}"
        self.container, self.image = {"name": "pager"}, "registry.lab.example/pager:1"
        self.address, self.port, self.proc, self.restarts = f"127.0.0.{n}", 8080, None, 0


def test_pods_ending_together_leave_a_listing_without_them(tmp_path):
    runtime = PodRuntime(tmp_path, report=lambda *a: None)
    for round_ in range(200):
        procs = [_Proc(n) for n in range(1, 5)]
        with runtime.lock:
            runtime.terminating = {p.uid: p for p in procs}
        barrier = threading.Barrier(len(procs))

        def finish(proc):
            barrier.wait()
            with runtime.lock:
                runtime.terminating.pop(proc.uid, None)
            runtime.write_listing()

        threads = [threading.Thread(target=finish, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert json.loads((tmp_path / "pods.json").read_text()) == [], f"stale listing in round {round_}"
        assert json.loads((tmp_path / "file_sd.json").read_text()) == []
