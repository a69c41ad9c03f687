"""OpenAPI v3 schemas of the built-in kinds, for ``kubectl explain`` and any client that reads
them: written from the official Python client's models (``kubernetes.client.models``),
which are themselves generated from the Kubernetes OpenAPI document: each model's field
types (``openapi_types``), JSON names (``attribute_map``) and field descriptions (the
properties' docstrings).

A kind's schema carries ``x-kubernetes-group-version-kind``, as the real one does. A kind the
client has no model for keeps an open schema (``x-kubernetes-preserve-unknown-fields``).
"""

from __future__ import annotations

import functools
import inspect
import re

PRIMITIVES = {"str": {"type": "string"}, "int": {"type": "integer", "format": "int64"},
              "float": {"type": "number", "format": "double"}, "bool": {"type": "boolean"},
              "datetime": {"type": "string", "format": "date-time"}, "date": {"type": "string", "format": "date"},
              "object": {"x-kubernetes-int-or-string": True}}
PREFIX = "io.k8s.lab."


@functools.lru_cache(maxsize=1)
def _models():
    try:
        from kubernetes.client import models
    except ImportError:  # the schemas stay open without the official client
        return None
    return models


def model_for(group: str, version: str, kind: str):
    """The client's model class of a kind (``V1Deployment``, ``CoreV1Event``,
    ``AuthenticationV1TokenRequest``), or None."""
    models = _models()
    if models is None:
        return None
    v = version[:1].upper() + version[1:]
    qualifier = "".join(part.capitalize() for part in (group.split(".")[0] if group else "core").split("-"))
    for name in (v + kind, qualifier + v + kind):
        found = getattr(models, name, None)
        if inspect.isclass(found) and hasattr(found, "openapi_types"):
            return found
    return None


def _description(model, attribute: str) -> str:
    prop = getattr(model, attribute, None)
    doc = inspect.getdoc(prop.fget) if isinstance(prop, property) and prop.fget else ""
    paragraphs = [p.strip() for p in (doc or "").split("\n\n")]
    # "Gets the x of this Model.", then the description, then ":return: ... :rtype:".
    body = [p for p in paragraphs[1:] if p and not p.startswith(":return:")]
    text = " ".join(body)
    return re.sub(r"\s*# noqa: E501", "", text).strip()


def _type(spec: str, out: dict) -> dict:
    spec = spec.strip()
    if spec in PRIMITIVES:
        return dict(PRIMITIVES[spec])
    m = re.fullmatch(r"list\[(.+)\]", spec)
    if m:
        return {"type": "array", "items": _type(m.group(1), out)}
    m = re.fullmatch(r"dict\(str,\s*(.+)\)", spec)
    if m:
        return {"type": "object", "additionalProperties": _type(m.group(1), out)}
    models = _models()
    model = getattr(models, spec, None) if models is not None else None
    if model is None or not hasattr(model, "openapi_types"):
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    name = schema_name(spec, out)
    if name not in out:
        out[name] = {}  # placeholder: models refer to themselves (JSONSchemaProps)
        out[name] = _schema(model, out)
    return {"$ref": "#/components/schemas/" + name}


_VERSIONED = re.compile(r"^(?:[A-Z][a-z]+)*?V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])")


def schema_name(model_name: str, out: dict) -> str:
    """``io.k8s.lab.<group-version>.<Kind>``: kubectl shows the part after the last dot, so
    ``V1DeploymentSpec`` reads ``DeploymentSpec`` as on a real server."""
    match = _VERSIONED.match(model_name)
    if not match:
        return PREFIX + model_name
    return "%s%s.%s" % (PREFIX, match.group(0).lower(), model_name[match.end():])


def _schema(model, out: dict) -> dict:
    props = {}
    for attribute, spec in model.openapi_types.items():
        field = _type(spec, out)
        described = _description(model, attribute)
        if "$ref" in field:
            field = {"allOf": [field]}
        if described:
            field["description"] = described
        props[model.attribute_map[attribute]] = field
    return {"type": "object", "properties": props}


def kind_schemas(group: str, version: str, kind: str, out: dict) -> str | None:
    """Add a kind's schema (and every schema it refers to) to ``out``; return its name, or
    None when the client has no model for it."""
    model = model_for(group, version, kind)
    if model is None:
        return None
    name = schema_name(model.__name__, out)
    schema = _schema(model, out)
    schema["description"] = "%s is a %s of API group %s, version %s." % (kind, "kind", group or "core", version)
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    out[name] = schema
    return name
