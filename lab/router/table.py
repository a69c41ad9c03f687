"""The routing table, built from Ingresses, Services, Endpoints and TLS Secrets (pure)."""

from __future__ import annotations

import base64


def _service_port(service: dict, wanted: dict) -> dict | None:
    for port in (service.get("spec") or {}).get("ports") or []:
        if ("number" in wanted and port.get("port") == wanted["number"]) or \
                ("name" in wanted and port.get("name") == wanted["name"]):
            return port
    return None


def ready_endpoints(service: dict | None, endpoints: dict | None, wanted: dict) -> list[tuple[str, int]]:
    """``[(address, port)]`` of a Service port's ready endpoints."""
    if service is None or endpoints is None:
        return []
    port = _service_port(service, wanted)
    if port is None:
        return []
    out = []
    for subset in endpoints.get("subsets") or []:
        ports = subset.get("ports") or []
        match = next((p for p in ports if port.get("name") and p.get("name") == port.get("name")), None)
        if match is None and len(ports) == 1:
            match = ports[0]
        if match is None:
            continue
        out += [(a["ip"], int(match["port"])) for a in subset.get("addresses") or []]
    return sorted(out)


class Backend:
    def __init__(self, namespace: str, ingress: str, service: str, port: dict, targets: list) -> None:
        self.namespace = namespace
        self.ingress = ingress
        self.service = service
        self.port = port
        self.targets = targets

    @property
    def upstream(self) -> str:
        return f"{self.namespace}-{self.service}-{self.port.get('number', self.port.get('name'))}"


def build(ingresses: dict, services: dict, endpoints: dict, secrets: dict, ingress_class: str = "nginx") -> dict:
    """``{"hosts": {host: [(pathType, path, Backend)]}, "tls": {host: (cert PEM, key PEM)},
    "options": {host: {"hsts": bool}}}``.

    Longest path first; ``Exact`` before ``Prefix`` of the same length, as ingress-nginx does.
    HSTS is on for TLS hosts, as ingress-nginx's default; an Ingress annotated
    ``lab.golive.io/hsts: "false"`` turns it off for its hosts (a break a test can make).
    """
    hosts: dict = {}
    tls: dict = {}
    options: dict = {}
    for (ns, name), ing in sorted(ingresses.items()):
        spec = ing.get("spec") or {}
        cls = spec.get("ingressClassName") or (ing["metadata"].get("annotations") or {}).get(
            "kubernetes.io/ingress.class") or ingress_class
        if cls != ingress_class:
            continue
        annotations = ing["metadata"].get("annotations") or {}
        for entry in spec.get("tls") or []:
            for host in entry.get("hosts") or []:
                options.setdefault(host, {"hsts": annotations.get("lab.golive.io/hsts", "true") != "false"})
            secret = secrets.get((ns, entry.get("secretName")))
            data = (secret or {}).get("data") or {}
            if "tls.crt" in data and "tls.key" in data:
                pair = (base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"]))
                for host in entry.get("hosts") or []:
                    tls.setdefault(host, pair)
        for rule in spec.get("rules") or []:
            host = rule.get("host") or "*"
            for path in ((rule.get("http") or {}).get("paths") or []):
                svc = ((path.get("backend") or {}).get("service") or {})
                wanted = svc.get("port") or {}
                targets = ready_endpoints(services.get((ns, svc.get("name"))), endpoints.get((ns, svc.get("name"))),
                                          wanted)
                hosts.setdefault(host, []).append((path.get("pathType") or "Prefix", path.get("path") or "/",
                                                   Backend(ns, name, svc.get("name"), wanted, targets)))
    for routes in hosts.values():
        routes.sort(key=lambda r: (-len(r[1]), r[0] != "Exact"))
    return {"hosts": hosts, "tls": tls, "options": options}


def match(table: dict, host: str, path: str):
    """The Backend for a request, or ``None`` (no rule: the default backend's 404)."""
    host = (host or "").split(":")[0].lower()
    for candidate in (host, "*"):
        for kind, prefix, backend in table["hosts"].get(candidate, []):
            if kind == "Exact":
                if path == prefix:
                    return backend
            elif path == prefix or path.startswith(prefix.rstrip("/") + "/") or prefix == "/":
                return backend
    return None
