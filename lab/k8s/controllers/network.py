"""Services (Endpoints, EndpointSlices from ready Pods) and Ingress status."""

from __future__ import annotations

import hashlib

from .common import K_EP, K_EPS, K_ING, K_PDB, K_POD, K_SVC, _copy, is_ready, owner_ref


class Network:
    HANDLERS = {"pods_changed": "_h_pods_changed", "endpoints": "_h_endpoints", "ingress": "_h_ingress"}
    WATCHES = {K_POD: lambda etype, ns, name: [("pods-changed", ns)],
               K_SVC: lambda etype, ns, name: [("endpoints", ns, name)],
               K_ING: lambda etype, ns, name: [("ingress", ns, name)]}

    # -- services ------------------------------------------------------------------------
    def _h_pods_changed(self, ns: str) -> None:
        for entry in self.store.list(K_SVC, ns):
            self.enqueue("endpoints", ns, entry.obj["metadata"]["name"])
        for entry in self.store.list(K_PDB, ns):
            self.enqueue("pdb", ns, entry.obj["metadata"]["name"])

    def _h_endpoints(self, ns: str, name: str) -> None:
        svc = self.store.get(K_SVC, ns, name)
        slice_name = f"{name}-lab"
        if svc is None:
            self.delete(K_EP, ns, name)
            return
        svc = svc.obj
        spec = svc.get("spec") or {}
        if spec.get("type") == "LoadBalancer" and not ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            lb_ip = f"192.0.2.{int(hashlib.sha256((ns + name).encode()).hexdigest(), 16) % 200 + 10}"
            self.set_status(K_SVC, _copy(self.store.get(K_SVC, ns, name)),
                            {"loadBalancer": {"ingress": [{"ip": lb_ip, "ipMode": "VIP"}]}})
        selector = spec.get("selector")
        if not selector:
            return
        pods = [e.obj for e in self.store.list(K_POD, ns)
                if all((e.obj["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                and (e.obj.get("status") or {}).get("podIP")
                and (e.obj.get("status") or {}).get("phase") in ("Pending", "Running")
                and not e.obj["metadata"].get("deletionTimestamp")]
        pods.sort(key=lambda p: p["metadata"]["name"])

        def target_port(port: dict, pod: dict):
            tp = port.get("targetPort", port.get("port"))
            if isinstance(tp, str) and not tp.isdigit():
                for c in (pod.get("spec") or {}).get("containers") or []:
                    for cp in c.get("ports") or []:
                        if cp.get("name") == tp:
                            return cp.get("containerPort")
                return None
            return int(tp)

        ports = []
        for port in spec.get("ports") or []:
            resolved = next((target_port(port, p) for p in pods if target_port(port, p)), None)
            if resolved is None:
                tp = port.get("targetPort", port.get("port"))
                resolved = int(tp) if isinstance(tp, int) or str(tp).isdigit() else port.get("port")
            entry = {"port": resolved, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            if port.get("appProtocol"):
                entry["appProtocol"] = port["appProtocol"]
            ports.append(entry)

        def address(p: dict) -> dict:
            return {"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                  "uid": p["metadata"]["uid"]}}

        ready = [address(p) for p in pods if is_ready(p)]
        not_ready = [address(p) for p in pods if not is_ready(p)]
        subset = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if subset:
            subset["ports"] = ports
        body = {"metadata": {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {})}}
        if subset:
            body["subsets"] = [subset]
        self._put(K_EP, ns, name, body, ("subsets", "metadata.labels"))
        slice_body = {
            "metadata": {"name": slice_name, "namespace": ns,
                         "labels": {**(svc["metadata"].get("labels") or {}),
                                    "kubernetes.io/service-name": name,
                                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                         "ownerReferences": [owner_ref(svc)]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [p["status"]["podIP"]],
                           "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": False},
                           "nodeName": p["spec"].get("nodeName"),
                           "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                         "uid": p["metadata"]["uid"]}} for p in pods],
            "ports": ports}
        self._put(K_EPS, ns, slice_name, slice_body, ("endpoints", "ports", "metadata.labels"))

    def _put(self, key, ns: str, name: str, body: dict, fields: tuple) -> None:
        current = self.get(key, ns, name)
        if current is None:
            self.create(key, ns, body)
            return
        changed = False
        for f in fields:
            if "." in f:
                a, b = f.split(".")
                if current.get(a, {}).get(b) != body.get(a, {}).get(b):
                    current.setdefault(a, {})[b] = body.get(a, {}).get(b)
                    changed = True
            elif current.get(f) != body.get(f):
                if f in body:
                    current[f] = body[f]
                else:
                    current.pop(f, None)
                changed = True
        if changed:
            self.update(key, current)

    def _h_ingress(self, ns: str, name: str) -> None:
        ing = self.get(K_ING, ns, name)
        if ing is None:
            return
        cls_name = (ing.get("spec") or {}).get("ingressClassName")
        classes = [e.obj for e in self.store.list(("networking.k8s.io", "ingressclasses"))]
        cls = next((c for c in classes if c["metadata"]["name"] == cls_name), None) if cls_name else next(
            (c for c in classes if (c["metadata"].get("annotations") or {}).get(
                "ingressclass.kubernetes.io/is-default-class") == "true"), None)
        if cls is None:
            return
        # The controller's LoadBalancer Service (any in the cluster labelled for this class) gives the address.
        ip = None
        for entry in self.store.list(K_SVC):
            svc = entry.obj
            lbls = svc["metadata"].get("labels") or {}
            if (svc.get("spec") or {}).get("type") == "LoadBalancer" and \
                    lbls.get("app.kubernetes.io/name") in ("ingress-nginx", cls["metadata"]["name"]):
                ips = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                ip = ips[0].get("ip") if ips else None
        if ip is None:
            self.later(max(self.config.controller_delay, 1.0), "ingress", ns, name, periodic=True)
            return
        self.set_status(K_ING, ing, {"loadBalancer": {"ingress": [{"ip": ip}]}})
