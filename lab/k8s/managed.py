"""Field ownership (``metadata.managedFields``) and server-side apply conflicts.

Each write names a field manager (``?fieldManager=``, else the client's User-Agent up to
its first ``/``). An apply owns the fields of the configuration it sends; a create, update
or patch owns the fields it set or changed. Ownership is kept per manager and operation
(``Apply``/``Update``) in ``FieldsV1`` form, as a real API server keeps it. An apply that
would change a field another manager owns is a 409 Conflict naming each field and its
manager, unless ``force=true``, which takes the fields over; an apply that sets a field to
the value it already has shares it.

Lists are owned item by item where Kubernetes keys them (containers, env, volumes, ports,
conditions ...), and as a whole otherwise. Status, and the writes of the lab's own
controllers, are not tracked.
"""

from __future__ import annotations

import json

from .errors import ApiError, now_iso

# list field -> the keys that identify an item (x-kubernetes-list-map-keys)
LIST_KEYS = {"containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
             "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",),
             "imagePullSecrets": ("name",), "conditions": ("type",), "hostAliases": ("ip",),
             "envFrom": None, "tolerations": None}
SKIP_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                 "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "generateName")


def _item_key(field: str, item) -> str | None:
    if not isinstance(item, dict):
        return None
    keys = LIST_KEYS.get(field)
    if field == "ports":
        keys = ("containerPort", "protocol") if "containerPort" in item else ("port", "protocol")
    if not keys:
        return None
    values = {}
    for key in keys:
        value = item.get(key, "TCP" if key == "protocol" else None)
        if value is None:
            return None
        values[key] = value
    return "k:" + json.dumps(values, separators=(",", ":"), sort_keys=True)


def paths(obj: dict) -> set:
    """The owned leaves of an object's configuration: tuples of ``f:<field>`` and
    ``k:<item key>`` steps (status and system metadata left out)."""
    out: set = set()

    def walk(value, prefix: tuple, field: str) -> None:
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                walk(sub, prefix + ("f:" + key,), key)
            return
        if isinstance(value, list) and value:
            keyed = [(_item_key(field, item), item) for item in value]
            if all(k is not None for k, _ in keyed):
                for key, item in keyed:
                    out.add(prefix + (key,))
                    walk(item, prefix + (key,), "")
                return
        out.add(prefix)

    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            for mkey, mvalue in (value or {}).items():
                if mkey not in SKIP_METADATA:
                    walk(mvalue, ("f:metadata", "f:" + mkey), mkey)
            continue
        walk(value, ("f:" + key,), key)
    return {p for p in out if p}


def value_at(obj, path: tuple):
    """The value an object has at ``path`` (``None`` when it has none)."""
    value = obj
    for step in path:
        if isinstance(value, dict) and step.startswith("f:"):
            value = value.get(step[2:])
        elif isinstance(value, list) and step.startswith("k:"):
            wanted = json.loads(step[2:])
            value = next((item for item in value if isinstance(item, dict) and all(
                item.get(k, "TCP" if k == "protocol" else None) == v for k, v in wanted.items())), None)
        else:
            return None
        if value is None:
            return None
    return value


def to_fields(owned: set) -> dict:
    tree: dict = {}
    for path in sorted(owned):
        node = tree
        for step in path:
            node = node.setdefault(step, {})
        if path and path[-1].startswith("k:"):
            node.setdefault(".", {})
    return tree


def from_fields(tree: dict, prefix: tuple = ()) -> set:
    out: set = set()
    for step, sub in (tree or {}).items():
        if step == ".":
            continue
        path = prefix + (step,)
        children = {k: v for k, v in (sub or {}).items() if k != "."}
        if children:
            out |= from_fields(children, path)
        else:
            out.add(path)
    return out


def _covered(path: tuple, owned: set) -> set:
    """The owned paths at, under or above ``path`` (an item or map owned whole covers its fields)."""
    return {p for p in owned if p[:len(path)] == path or path[:len(p)] == p}


def manager_of(query_manager: str, user_agent: str) -> str:
    if query_manager:
        return query_manager
    name = (user_agent or "unknown").split("/")[0].strip()
    return name[:128] or "unknown"


def _entries(obj: dict) -> list:
    return [dict(e) for e in (obj.get("metadata") or {}).get("managedFields") or []]


def _write(obj: dict, entries: list, manager: str, operation: str, api_version: str, owned: set,
           subresource: str | None = None) -> None:
    kept = [e for e in entries if (e.get("manager"), e.get("operation"), e.get("subresource")) != (
        manager, operation, subresource)]
    kept = [e for e in kept if from_fields(e.get("fieldsV1"))]
    if owned:
        entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now_iso(),
                 "fieldsType": "FieldsV1", "fieldsV1": to_fields(owned)}
        if subresource:
            entry["subresource"] = subresource
        kept.append(entry)
    obj.setdefault("metadata", {})["managedFields"] = kept


def on_apply(res, name: str, current: dict | None, config: dict, manager: str, force: bool) -> list:
    """Before an apply of ``config`` over ``current``: raise the 409 of its conflicts (unless
    ``force``); return the entries to write after it (other managers lose forced fields)."""
    wanted = paths(config)
    entries = _entries(current or {})
    conflicts = []
    for entry in entries:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            continue
        owned = from_fields(entry.get("fieldsV1"))
        for path in wanted:
            for theirs in _covered(path, owned):
                if value_at(current or {}, theirs) != value_at(config, theirs) and \
                        value_at(config, theirs) is not None:
                    conflicts.append((entry, theirs))
    if conflicts and not force:
        raise _conflict(res, name, conflicts)
    for entry, theirs in conflicts:
        owned = from_fields(entry.get("fieldsV1")) - {theirs}
        entry["fieldsV1"] = to_fields(owned)
    return entries


def after_apply(res, obj: dict, entries: list, config: dict, manager: str) -> None:
    _write(obj, entries, manager, "Apply", res.api_version, paths(config))


def after_update(res, obj: dict, old: dict | None, manager: str) -> None:
    """After a create, update or patch by ``manager``: it owns what it set or changed;
    others lose what it changed or removed."""
    now_paths = paths(obj)
    before = paths(old) if old is not None else set()
    changed = {p for p in now_paths if old is None or value_at(old, p) != value_at(obj, p)}
    removed = before - now_paths
    entries = []
    for entry in _entries(old or {}):
        owned = from_fields(entry.get("fieldsV1"))
        lost = set()
        for path in changed | removed:
            lost |= _covered(path, owned)
        entry["fieldsV1"] = to_fields(owned - lost)
        entries.append(entry)
    mine = next((from_fields(e.get("fieldsV1")) for e in entries
                 if (e.get("manager"), e.get("operation")) == (manager, "Update")), set())
    _write(obj, entries, manager, "Update", res.api_version, (mine & now_paths) | changed)


def keep(obj: dict, old: dict) -> None:
    """A write whose ownership is not tracked (status, the lab's controllers) keeps the entries."""
    fields = (old.get("metadata") or {}).get("managedFields")
    if fields:
        obj.setdefault("metadata", {})["managedFields"] = fields
    else:
        (obj.get("metadata") or {}).pop("managedFields", None)


def _conflict(res, name: str, conflicts: list) -> ApiError:
    shown = []
    causes = []
    for entry, path in conflicts:
        field = "." + ".".join(step[2:] if step.startswith("f:") else "[%s]" % step[2:] for step in path)
        field = field.replace(".[", "[")
        text = 'conflict with "%s"%s' % (entry.get("manager"), " using %s" % entry.get("apiVersion")
                                          if entry.get("apiVersion") else "")
        shown.append("%s: %s" % (text, field))
        causes.append({"reason": "FieldManagerConflict", "message": text, "field": field})
    count = len(conflicts)
    message = "Apply failed with %d conflict%s: %s" % (count, "" if count == 1 else "s", "\n".join(shown))
    return ApiError(409, message, "Conflict", details={"name": name, "group": res.group, "kind": res.plural,
                                                        "causes": causes})
