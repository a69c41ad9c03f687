"""The lab's authorization policy: what SelfSubjectAccessReview and SelfSubjectRulesReview
answer, and (with `enforce: true`) what API requests are refused with 403.

    default: allow            # or deny
    enforce: false            # also refuse real requests that the rules deny
    rules:                    # first match wins
      - effect: deny
        verbs: [delete, patch]
        apiGroups: [apps]
        resources: [deployments, deployments/scale]
        namespaces: [shop]
        names: []
"""

from __future__ import annotations

import copy

ALLOW_ALL = {"default": "allow", "enforce": False, "rules": []}


def _match(values, value: str) -> bool:
    if not values:
        return True
    return "*" in values or value in values


class Policy:
    def __init__(self, doc: dict | None = None) -> None:
        self.doc = copy.deepcopy(doc or ALLOW_ALL)

    @property
    def enforce(self) -> bool:
        return bool(self.doc.get("enforce"))

    def decide(self, verb: str, group: str, resource: str, subresource: str = "", namespace: str = "",
               name: str = "", path: str = "") -> tuple[bool, str]:
        full = f"{resource}/{subresource}" if subresource else resource
        for rule in self.doc.get("rules") or []:
            if not _match(rule.get("verbs"), verb):
                continue
            if path:
                if not rule.get("nonResourceURLs") or not any(
                        path == u or (u.endswith("*") and path.startswith(u[:-1])) for u in rule["nonResourceURLs"]):
                    continue
            else:
                if rule.get("nonResourceURLs"):
                    continue
                if not _match(rule.get("apiGroups"), group):
                    continue
                if not (_match(rule.get("resources"), full) or
                        (not subresource and _match(rule.get("resources"), resource))):
                    continue
                if namespace and rule.get("namespaces") and not _match(rule.get("namespaces"), namespace):
                    continue
                if not namespace and rule.get("namespaces"):
                    continue
                if rule.get("names") and not _match(rule.get("names"), name):
                    continue
            allowed = rule.get("effect", "allow") == "allow"
            return allowed, rule.get("reason") or ("allowed by lab policy rule" if allowed
                                                   else "denied by lab policy rule")
        allowed = self.doc.get("default", "allow") == "allow"
        return allowed, "allowed by lab policy default" if allowed else "no lab policy rule allows this"

    def rules_for(self, namespace: str) -> tuple[list[dict], list[dict]]:
        resource_rules, non_resource = [], []
        for rule in self.doc.get("rules") or []:
            if rule.get("effect", "allow") != "allow":
                continue
            if rule.get("namespaces") and namespace not in rule["namespaces"] and "*" not in rule["namespaces"]:
                continue
            if rule.get("nonResourceURLs"):
                non_resource.append({"verbs": rule.get("verbs") or ["*"],
                                     "nonResourceURLs": rule["nonResourceURLs"]})
            else:
                entry = {"verbs": rule.get("verbs") or ["*"], "apiGroups": rule.get("apiGroups") or ["*"],
                         "resources": rule.get("resources") or ["*"]}
                if rule.get("names"):
                    entry["resourceNames"] = rule["names"]
                resource_rules.append(entry)
        if self.doc.get("default", "allow") == "allow" and not any(
                r.get("effect") == "deny" for r in self.doc.get("rules") or []):
            resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            non_resource.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
        return resource_rules, non_resource
