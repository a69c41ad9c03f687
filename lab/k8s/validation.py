"""What a real API server refuses on create and update that the lab must refuse too:
immutable fields, required values, label syntax, the shapes of ConfigMap data, Pod update
rules. Messages, reasons and fields are the API server's (v1.30)."""

from __future__ import annotations

import json
import re

from .errors import ApiError

LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_HELP = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
POD_UPDATE_RULE = ("pod updates may not change fields other than `spec.containers[*].image`,"
                   "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                   "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                   "(allow it to be set to 1 if it was previously negative)")
REASONS = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired",
           "Forbidden": "FieldValueForbidden", "Duplicate value": "FieldValueDuplicate",
           "Unsupported value": "FieldValueNotSupported"}


class Problem(Exception):
    """One field error: ``field``, the kind of error (``Required value``, ``Invalid value``...)
    and its detail."""

    def __init__(self, field: str, kind: str, detail: str = "") -> None:
        super().__init__(field)
        self.field, self.kind, self.detail = field, kind, detail

    def text(self) -> str:
        return "%s: %s%s" % (self.field, self.kind, ": " + self.detail if self.detail else "")


def qualified(res) -> str:
    return res.kind if not res.group else "%s.%s" % (res.kind, res.group)


def refuse(res, name: str, problems: list) -> ApiError:
    """The 422 a real API server answers: every field error in the message and the causes."""
    causes = [{"reason": REASONS.get(p.kind, "FieldValueInvalid"), "message": "%s%s" % (
        p.kind, ": " + p.detail if p.detail else ""), "field": p.field} for p in problems]
    texts = [p.text() for p in problems]
    message = texts[0] if len(texts) == 1 else "[%s]" % ", ".join(texts)
    return ApiError(422, '%s "%s" is invalid: %s' % (qualified(res), name, message), "Invalid",
                    details={"name": name, "group": res.group, "kind": res.kind, "causes": causes})


def _go_value(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _labels(labels, field: str) -> list:
    problems = []
    for key, value in (labels or {}).items():
        if not isinstance(value, str):
            continue
        if len(value) > 63:
            problems.append(Problem(field, "Invalid value", "%s: must be no more than 63 characters" % _go_value(value)))
        elif not LABEL_VALUE_RE.match(value):
            problems.append(Problem(field, "Invalid value", "%s: %s" % (_go_value(value), LABEL_VALUE_HELP)))
    return problems


def _containers(pod_spec: dict, base: str) -> list:
    problems = []
    for key in ("initContainers", "containers"):
        for index, container in enumerate((pod_spec or {}).get(key) or []):
            if isinstance(container, dict) and not str(container.get("image") or "").strip():
                problems.append(Problem("%s.%s[%d].image" % (base, key, index), "Required value"))
    return problems


def _service_ports(spec: dict) -> list:
    ports = [p for p in (spec or {}).get("ports") or [] if isinstance(p, dict)]
    if len(ports) < 2:
        return []
    return [Problem("spec.ports[%d].name" % i, "Required value") for i, p in enumerate(ports) if not p.get("name")]


def _ingress_paths(spec: dict) -> list:
    problems = []
    for r, rule in enumerate((spec or {}).get("rules") or []):
        for i, path in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
            base = "spec.rules[%d].http.paths[%d].pathType" % (r, i)
            kind = (path or {}).get("pathType")
            if not kind:
                problems.append(Problem(base, "Required value", "pathType must be specified"))
            elif kind not in ("Exact", "Prefix", "ImplementationSpecific"):
                problems.append(Problem(base, "Unsupported value", '"%s": supported values: "Exact", '
                                        '"ImplementationSpecific", "Prefix"' % kind))
    return problems


def check_data(res, obj: dict) -> None:
    """A ConfigMap's ``data`` holds strings: anything else cannot be decoded (400)."""
    if res.kind != "ConfigMap" or res.group:
        return
    for key, value in (obj.get("data") or {}).items():
        if value is not None and not isinstance(value, str):
            go = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}.get(type(value), "value")
            raise ApiError(400, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
                                '%s into Go struct field ConfigMap.data of type string' % go, "BadRequest")


def on_write(res, obj: dict, old: dict | None) -> None:
    """Refuse ``obj`` (a create when ``old`` is None, else an update of ``old``) as the API
    server's validation does; raises ApiError."""
    if res.crd:
        return
    check_data(res, obj)
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    problems = _labels(obj["metadata"].get("labels"), "metadata.labels")
    if res.kind in WORKLOADS and res.group in ("apps", "batch"):
        template = spec.get("template") or {}
        problems += _labels((template.get("metadata") or {}).get("labels"), "spec.template.metadata.labels")
        problems += _containers(template.get("spec"), "spec.template.spec")
    if res.kind == "Pod" and not res.group:
        problems += _containers(spec, "spec")
    if res.kind == "Service" and not res.group:
        problems += _service_ports(spec)
    if res.kind == "Ingress" and res.group == "networking.k8s.io":
        problems += _ingress_paths(spec)
    if old is not None:
        problems += _immutable(res, obj, old)
    if problems:
        raise refuse(res, name, problems)


def _immutable(res, obj: dict, old: dict) -> list:
    spec, before = obj.get("spec") or {}, old.get("spec") or {}
    problems = []
    if res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and res.group == "apps":
        if before.get("selector") is not None and spec.get("selector") != before.get("selector"):
            problems.append(Problem("spec.selector", "Invalid value", "v1.LabelSelector%s: field is immutable"
                                    % _go_value(spec.get("selector"))))
    if res.kind == "Service" and not res.group:
        was, now = before.get("clusterIP"), spec.get("clusterIP")
        if was and was != "None" and now and now != was:
            problems.append(Problem("spec.clusterIPs[0]", "Invalid value",
                                    '[]string{"%s"}: may not change once set' % now))
    if res.kind in ("ConfigMap", "Secret") and not res.group and old.get("immutable"):
        if not obj.get("immutable"):
            problems.append(Problem("immutable", "Forbidden", "field is immutable when `immutable` is set"))
        for key in ("data", "binaryData"):
            if (obj.get(key) or {}) != (old.get(key) or {}):
                problems.append(Problem(key, "Forbidden", "field is immutable when `immutable` is set"))
    if res.kind == "Pod" and not res.group:
        problems += _pod_update(spec, before)
    return problems


def _pod_update(spec: dict, before: dict) -> list:
    """A Pod's spec changes only in its images, activeDeadlineSeconds, added tolerations and
    terminationGracePeriodSeconds (and its node, once, through binding)."""
    def comparable(value: dict) -> dict:
        value = json.loads(json.dumps(value or {}))
        for key in ("initContainers", "containers"):
            for container in value.get(key) or []:
                if isinstance(container, dict):
                    container.pop("image", None)
        for key in ("activeDeadlineSeconds", "terminationGracePeriodSeconds", "tolerations"):
            value.pop(key, None)
        return value

    now, was = comparable(spec), comparable(before)
    if not was.get("nodeName"):  # binding sets the node once
        now.pop("nodeName", None)
        was.pop("nodeName", None)
    problems = []
    if now != was:
        problems.append(Problem("spec", "Forbidden", POD_UPDATE_RULE))
    kept = [t for t in before.get("tolerations") or []]
    if any(t not in (spec.get("tolerations") or []) for t in kept):
        problems.append(Problem("spec.tolerations", "Forbidden", "existing toleration can not be modified except "
                                                                 "its tolerationSeconds"))
    return problems
