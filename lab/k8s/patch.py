"""Merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch."""

from __future__ import annotations

import copy

import jsonpatch

from .errors import ApiError

# Lists merged by a key instead of being replaced (the common strategic merge keys).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "conditions": "type", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "ownerReferences": "uid",
    "secrets": "name", "ephemeralContainerStatuses": "name",
}
# Lists of scalars merged as sets.
SET_LISTS = {"finalizers"}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict, operations: list) -> dict:
    try:
        return jsonpatch.apply_patch(target, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        raise ApiError(422, f"the server rejected our request due to an error in our request: {exc}",
                       "Invalid")


def _merge_key(field: str, items: list) -> str | None:
    if field == "ports":
        for item in items:
            if isinstance(item, dict):
                if "containerPort" in item:
                    return "containerPort"
                if "port" in item:
                    return "port"
        return None
    return MERGE_KEYS.get(field)


def strategic_merge(target, patch):
    """Apply a strategic merge patch, including the directives kubectl sends."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target)
    orders: dict[str, list] = {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = set(map(str, value or []))
            result[field] = [v for v in result.get(field) or [] if str(v) not in drop]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, list):
            result[key] = _merge_list(key, current, value)
        elif isinstance(value, dict):
            merged = strategic_merge(current, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(field, result[field], order)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, current, patch_list: list) -> list:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch_list):
        return [copy.deepcopy(i) for i in patch_list if not (isinstance(i, dict) and "$patch" in i)]
    if field in SET_LISTS and isinstance(current, list):
        out = list(current)
        for item in patch_list:
            if item not in out:
                out.append(item)
        return out
    key = _merge_key(field, patch_list + (current if isinstance(current, list) else []))
    if key is None or not isinstance(current, list):
        return [copy.deepcopy(i) for i in patch_list
                if not (isinstance(i, dict) and i.get("$patch") == "delete")]
    out = list(current)
    for item in patch_list:
        if not isinstance(item, dict):
            continue
        idx = next((n for n, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge({}, item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    return out


def _apply_order(field: str, items: list, order: list) -> list:
    key = _merge_key(field, items + order)
    if key is None:
        return items

    def ident(x):
        return x.get(key) if isinstance(x, dict) else x

    position = {ident(o): n for n, o in enumerate(order)}
    return sorted(items, key=lambda x: position.get(ident(x), len(order)))


def remove_unapplied(current, previous, applied, field: str | None = None):
    """Drop from `current` what a manager's `previous` apply set and its new `applied`
    configuration no longer has (maps by key, merge-keyed lists by item)."""
    if isinstance(previous, dict) and isinstance(current, dict):
        applied = applied if isinstance(applied, dict) else {}
        out = dict(current)
        for key, before in previous.items():
            if key.startswith("$"):
                continue
            if key not in applied:
                out.pop(key, None)
            elif key in out and isinstance(before, (dict, list)):
                out[key] = remove_unapplied(out[key], before, applied[key], key)
        return out
    if isinstance(previous, list) and isinstance(current, list) and isinstance(applied, list):
        key = _merge_key(field or "", previous + applied + current)
        if key is None:
            return current
        now = {i.get(key): i for i in applied if isinstance(i, dict)}
        before = {i.get(key): i for i in previous if isinstance(i, dict)}
        out = []
        for item in current:
            ident = item.get(key) if isinstance(item, dict) else None
            if ident in before and ident not in now:
                continue
            if ident in before:
                item = remove_unapplied(item, before[ident], now[ident])
            out.append(item)
        return out
    return current
