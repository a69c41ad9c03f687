"""PersistentVolumeClaims (bound by a StorageClass) and PodDisruptionBudgets."""

from __future__ import annotations

import json

from .common import K_PDB, K_POD, K_PVC, K_SC, is_ready, scaled, selector_from_match, set_condition


class Volumes:
    HANDLERS = {"all_pvc": "_h_all_pvc", "pvc": "_h_pvc", "pdb": "_h_pdb"}
    WATCHES = {K_PVC: lambda etype, ns, name: [("pvc", ns, name)],
               K_SC: lambda etype, ns, name: [("all-pvc",)],
               K_PDB: lambda etype, ns, name: [("pdb", ns, name)]}

    # -- storage and disruption budgets --------------------------------------------------
    def _h_all_pvc(self) -> None:
        for entry in self.store.list(K_PVC):
            meta = entry.obj["metadata"]
            self.enqueue("pvc", meta["namespace"], meta["name"])

    def _h_pvc(self, ns: str, name: str) -> None:
        pvc = self.get(K_PVC, ns, name)
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec") or {}
        sc_name = spec.get("storageClassName")
        if sc_name is None:
            default = next((e.obj for e in self.store.list(K_SC) if (e.obj["metadata"].get("annotations") or {})
                            .get("storageclass.kubernetes.io/is-default-class") == "true"), None)
            if default is not None:
                pvc["spec"]["storageClassName"] = default["metadata"]["name"]
                pvc = json.loads(json.dumps(self.update(K_PVC, pvc)))
                sc_name = default["metadata"]["name"]
        if sc_name and self.store.get(K_SC, "", sc_name) is not None:
            if not pvc["spec"].get("volumeName"):
                pvc["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
                pvc["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
                pvc = json.loads(json.dumps(self.update(K_PVC, pvc)))
            self.set_status(K_PVC, pvc, {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                                         "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {})
                                                      .get("storage", "1Gi")}})
        else:
            self.set_status(K_PVC, pvc, {"phase": "Pending"})
            if (pvc.get("status") or {}).get("phase") != "Pending":
                self.event(pvc, "FailedBinding", "no persistent volumes available for this claim and no storage "
                                                 "class is set", "Warning")

    def _h_pdb(self, ns: str, name: str) -> None:
        pdb = self.get(K_PDB, ns, name)
        if pdb is None:
            return
        spec = pdb.get("spec") or {}
        match = selector_from_match(spec.get("selector"))
        pods = [e.obj for e in self.store.list(K_POD, ns) if match(e.obj["metadata"].get("labels") or {})
                and (e.obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        expected = len(pods)
        # A Pod being deleted is not healthy (the disruption controller skips it).
        healthy = sum(1 for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp"))
        if "minAvailable" in spec:
            desired = scaled(spec["minAvailable"], expected, True)
        elif "maxUnavailable" in spec:
            desired = max(0, expected - scaled(spec["maxUnavailable"], expected, True))
        else:
            desired = expected
        allowed = max(0, healthy - desired)
        conds = set_condition((pdb.get("status") or {}).get("conditions") or [], "DisruptionAllowed",
                              "True" if allowed else "False",
                              "SufficientPods" if allowed else "InsufficientPods", "")
        for c in conds:
            c["observedGeneration"] = pdb["metadata"].get("generation", 1)
        self.set_status(K_PDB, pdb, {"observedGeneration": pdb["metadata"].get("generation", 1),
                                     "currentHealthy": healthy, "desiredHealthy": desired,
                                     "expectedPods": expected, "disruptionsAllowed": allowed,
                                     "conditions": conds})
