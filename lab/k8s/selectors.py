"""Label and field selectors (the string forms clients send in query parameters)."""

from __future__ import annotations

import re
from typing import Callable

from .errors import ApiError

Predicate = Callable[[dict], bool]

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        terms.append("".join(cur))
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> Predicate | None:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h` into a predicate on a labels dict."""
    if not text:
        return None
    checks: list[Callable[[dict], bool]] = []
    for term in _split_terms(text):
        m = _SET_RE.match(term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                checks.append(lambda l, k=key, vs=values: k in l and l[k] in vs)
            else:
                checks.append(lambda l, k=key, vs=values: k not in l or l[k] not in vs)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            checks.append(lambda l, k=key, v=value: l.get(k) != v)
        elif "==" in term or "=" in term:
            key, value = (s.strip() for s in re.split(r"==?", term, maxsplit=1))
            checks.append(lambda l, k=key, v=value: l.get(k) == v)
        elif term.startswith("!"):
            key = term[1:].strip()
            checks.append(lambda l, k=key: k not in l)
        elif re.match(r"^[A-Za-z0-9._/-]+$", term):
            checks.append(lambda l, k=term: k in l)
        else:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
    return lambda labels: all(c(labels) for c in checks)


def selector_from_match(selector: dict | None) -> Predicate:
    """A predicate from a metav1.LabelSelector ({matchLabels, matchExpressions})."""
    if not selector:
        return lambda labels: False
    checks: list[Callable[[dict], bool]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        checks.append(lambda l, k=k, v=v: l.get(k) == v)
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In":
            checks.append(lambda l, k=key, vs=values: l.get(k) in vs)
        elif op == "NotIn":
            checks.append(lambda l, k=key, vs=values: l.get(k) not in vs)
        elif op == "Exists":
            checks.append(lambda l, k=key: k in l)
        elif op == "DoesNotExist":
            checks.append(lambda l, k=key: k not in l)
    if not checks:
        return lambda labels: True
    return lambda labels: all(c(labels) for c in checks)


def selector_to_string(selector: dict | None) -> str:
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op in ("In", "NotIn"):
            parts.append(f"{key} {op.lower()} ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def field_value(obj: dict, path: str) -> str | None:
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, (dict, list)):
        return None
    return None if cur is None else str(cur)


# The field labels each kind supports (its registry's field label conversion functions);
# every kind has metadata.name and metadata.namespace. Anything else is a 400.
FIELD_LABELS = {
    ("", "Pod"): {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                  "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"},
    ("", "Event"): {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                    "reason", "reportingComponent", "source", "type"},
    ("events.k8s.io", "Event"): {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                                 "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
                                 "reason", "reportingController", "type"},
    ("", "Secret"): {"type"},
    ("", "Namespace"): {"status.phase"},
    ("", "Node"): {"spec.unschedulable"},
    ("", "Service"): {"spec.clusterIP", "spec.type"},
    ("", "ReplicationController"): {"status.replicas"},
    ("apps", "ReplicaSet"): {"status.replicas"},
    ("batch", "Job"): {"status.successful"},
    ("certificates.k8s.io", "CertificateSigningRequest"): {"spec.signerName"},
}
ALWAYS = {"metadata.name", "metadata.namespace"}


def parse_field_selector(text: str | None, res=None) -> Predicate | None:
    """`metadata.name=x,status.phase!=Running`; with ``res``, only the field labels its kind
    supports (as a real API server: 400 "field label not supported" otherwise)."""
    if not text:
        return None
    checks: list[Callable[[dict], bool]] = []
    allowed = None if res is None else ALWAYS | FIELD_LABELS.get((res.group, res.kind), set())
    for term in _split_terms(text):
        if "!=" in term:
            path, value = term.split("!=", 1)
            checks.append(lambda o, p=path.strip(), v=value.strip(): (field_value(o, p) or "") != v)
        elif "=" in term:
            path, value = re.split(r"==?", term, maxsplit=1)
            checks.append(lambda o, p=path.strip(), v=value.strip(): (field_value(o, p) or "") == v)
        else:
            raise ApiError(400, f"invalid field selector: {term!r}")
        if allowed is not None and path.strip() not in allowed:
            raise ApiError(400, f'field label not supported: {path.strip()}')
    return lambda obj: all(c(obj) for c in checks)
