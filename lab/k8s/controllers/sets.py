"""StatefulSets and DaemonSets, with ControllerRevisions."""

from __future__ import annotations

import collections
import json
import random
import re

from .kubelet import tolerates
from .common import (
    ALPHABET, ApiError, K_CR, K_DS, K_NODE, K_POD, K_PVC, K_STS, LAB, is_ready, owner_ref, template_hash
)


class Sets:
    HANDLERS = {"sts": "_h_sts", "all_ds": "_h_all_ds", "ds": "_h_ds"}
    WATCHES = {K_STS: lambda etype, ns, name: [("sts", ns, name)],
               K_DS: lambda etype, ns, name: [("ds", ns, name)],
               K_NODE: lambda etype, ns, name: [("all-ds",)]}

    # -- stateful sets and daemon sets ---------------------------------------------------
    def _revisions(self, owner: dict, template: dict, rev_name: str, annotations: dict | None = None) -> None:
        """Keep a ControllerRevision per template (what `rollout history|undo` read), the current
        one holding the highest revision number; prune beyond revisionHistoryLimit."""
        ns = owner["metadata"]["namespace"]
        crs = self.owned(owner, K_CR)
        top = max((cr.get("revision", 0) for cr in crs), default=0)
        current = next((cr for cr in crs if cr["metadata"]["name"] == rev_name), None)
        if current is None:
            labels = dict(((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
            labels["controller-revision-hash"] = rev_name.rsplit("-", 1)[-1]
            tpl = json.loads(json.dumps(template))
            tpl["$patch"] = "replace"
            meta = {"name": rev_name, "labels": labels, "ownerReferences": [owner_ref(owner)]}
            if annotations:
                meta["annotations"] = annotations
            try:
                self.create(K_CR, ns, {"metadata": meta, "data": {"spec": {"template": tpl}}, "revision": top + 1})
            except ApiError as exc:
                if exc.code != 409:
                    raise
        elif current.get("revision", 0) < top or (annotations and any(
                (current["metadata"].get("annotations") or {}).get(k) != v for k, v in annotations.items())):
            obj = self.get(K_CR, ns, rev_name)
            if current.get("revision", 0) < top:
                obj["revision"] = top + 1
            if annotations:
                obj["metadata"].setdefault("annotations", {}).update(annotations)
            self.update(K_CR, obj)
        limit = (owner.get("spec") or {}).get("revisionHistoryLimit", 10)
        old = sorted((cr for cr in crs if cr["metadata"]["name"] != rev_name), key=lambda cr: cr.get("revision", 0))
        for cr in old[:max(len(old) - limit, 0)]:
            self.delete(K_CR, ns, cr["metadata"]["name"])

    def _h_sts(self, ns: str, name: str) -> None:
        sts = self.get(K_STS, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts.get("spec") or {}
        want = spec.get("replicas", 1)
        rev = f"{name}-{template_hash(spec.get('template'))}"
        self._revisions(sts, spec.get("template") or {}, rev)
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {}
        for p in self.owned(sts, K_POD):
            m = re.match(rf"^{re.escape(name)}-(\d+)$", p["metadata"]["name"])
            if m:
                pods[int(m.group(1))] = p
        for i in range(want):
            if i in pods:
                if ordered and not is_ready(pods[i]):
                    break
                continue
            for claim in spec.get("volumeClaimTemplates") or []:
                cname = f"{claim['metadata']['name']}-{name}-{i}"
                if self.store.get(K_PVC, ns, cname) is None:
                    self.create(K_PVC, ns, {"metadata": {"name": cname, "labels": dict(
                        ((spec.get("selector") or {}).get("matchLabels") or {}))},
                        "spec": json.loads(json.dumps(claim.get("spec") or {}))})
            tpl = spec.get("template") or {}
            self.new_pod(sts, tpl, f"{name}-{i}", {"controller-revision-hash": rev,
                                                   "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                                                   "apps.kubernetes.io/pod-index": str(i)})
            if ordered:
                break
        for i in sorted(pods, reverse=True):
            if i >= want:
                self.delete(K_POD, ns, pods[i]["metadata"]["name"])
                if ordered:
                    break
        live = [p for i, p in pods.items() if i < want]
        if len(live) == want and all(is_ready(p) for p in live):
            stale = [i for i, p in pods.items() if i < want and
                     (p["metadata"].get("labels") or {}).get("controller-revision-hash") != rev]
            if stale:
                self.delete(K_POD, ns, pods[max(stale)]["metadata"]["name"])
        current = [p for p in pods.values() if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == rev]
        ready = sum(1 for p in pods.values() if is_ready(p))
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                  "readyReplicas": ready, "currentReplicas": len(current), "updatedReplicas": len(current),
                  "availableReplicas": ready, "currentRevision": rev, "updateRevision": rev, "collisionCount": 0}
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if status[k] == 0:
                status.pop(k)
        self.set_status(K_STS, sts, status)

    def _h_all_ds(self) -> None:
        for entry in self.store.list(K_DS):
            meta = entry.obj["metadata"]
            self.enqueue("ds", meta["namespace"], meta["name"])

    def _h_ds(self, ns: str, name: str) -> None:
        ds = self.get(K_DS, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds.get("spec") or {}
        tpl = spec.get("template") or {}
        pod_spec = tpl.get("spec") or {}
        selector = pod_spec.get("nodeSelector") or {}
        nodes = [e.obj for e in self.store.list(K_NODE)
                 if all((e.obj["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                 and tolerates(pod_spec, e.obj)]
        node_names = {n["metadata"]["name"] for n in nodes}
        unready = {x.strip() for x in ((ds["metadata"].get("annotations") or {}).get(LAB + "unready-nodes") or "")
                   .split(",") if x.strip()}
        rev = template_hash(tpl)
        gen = str(ds["metadata"].get("generation", 1))
        self._revisions(ds, tpl, f"{name}-{rev}", {"deprecated.daemonset.template.generation": gen})
        if (ds["metadata"].get("annotations") or {}).get("deprecated.daemonset.template.generation") != gen:
            ds["metadata"].setdefault("annotations", {})["deprecated.daemonset.template.generation"] = gen
            ds = json.loads(json.dumps(self.update(K_DS, ds)))
        pods = self.owned(ds, K_POD)
        by_node: dict[str, list] = collections.defaultdict(list)
        for p in pods:
            by_node[(p.get("spec") or {}).get("nodeName", "")].append(p)
        for node in sorted(node_names):
            if not by_node.get(node):
                extra = {LAB + "ready": "false"} if node in unready else None
                self.new_pod(ds, tpl, f"{name}-{''.join(random.choices(ALPHABET, k=5))}",
                             {"controller-revision-hash": rev, "pod-template-generation":
                              str(ds["metadata"].get("generation", 1))}, node=node, extra_annotations=extra)
        for node, plist in by_node.items():
            if node not in node_names:
                for p in plist:
                    self.delete(K_POD, ns, p["metadata"]["name"])
            else:
                for p in plist[1:]:
                    self.delete(K_POD, ns, p["metadata"]["name"])
        # Rolling update: replace one stale pod at a time once all others are ready.
        stale = [p for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != rev
                 and p["spec"].get("nodeName") in node_names]
        if stale and all(is_ready(p) or p in stale for p in pods):
            self.delete(K_POD, ns, stale[0]["metadata"]["name"])
        scheduled = [p for p in pods if (p.get("spec") or {}).get("nodeName") in node_names]
        ready = sum(1 for p in scheduled if is_ready(p))
        updated = sum(1 for p in scheduled if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == rev)
        status = {"currentNumberScheduled": len({p["spec"]["nodeName"] for p in scheduled}),
                  "desiredNumberScheduled": len(node_names), "numberMisscheduled": 0,
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if len(node_names) - ready:
            status["numberUnavailable"] = len(node_names) - ready
        if not ready:
            status.pop("numberAvailable")
        self.set_status(K_DS, ds, status)
