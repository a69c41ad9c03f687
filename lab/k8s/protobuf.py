"""Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

kubectl's typed clients (`kubectl create deployment|namespace|configmap|secret|job|cronjob|
role|clusterrole|rolebinding|clusterrolebinding|pdb|quota|ingress|priorityclass|token`,
`kubectl autoscale`, `kubectl auth can-i`) send protobuf. The server answers in JSON (those clients accept
it); only request bodies are decoded, for the kinds below, into the JSON form. Fields
outside these schemas are skipped, so their values are lost: use `kubectl create -f`
or `apply` (JSON) for anything richer.
"""

from __future__ import annotations

import base64
import datetime as dt

from .errors import ApiError

MAGIC = b"k8s\x00"

# message -> {field number: (json name, type, repeated)}
# types: s string, b bytes (base64), i varint int, bool, t Time, ios IntOrString,
#        q Quantity, mss map<string,string>, msb map<string,bytes>, msq map<string,Quantity>,
#        or the name of another message.
S: dict[str, dict[int, tuple]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta", 0), 2: ("raw", "raw", 0), 3: ("contentEncoding", "s", 0),
                4: ("contentType", "s", 0)},
    "TypeMeta": {1: ("apiVersion", "s", 0), 2: ("kind", "s", 0)},
    "ObjectMeta": {1: ("name", "s", 0), 2: ("generateName", "s", 0), 3: ("namespace", "s", 0),
                   5: ("uid", "s", 0), 6: ("resourceVersion", "s", 0), 7: ("generation", "i", 0),
                   8: ("creationTimestamp", "t", 0), 11: ("labels", "mss", 0), 12: ("annotations", "mss", 0),
                   13: ("ownerReferences", "OwnerReference", 1), 14: ("finalizers", "s", 1)},
    "OwnerReference": {1: ("kind", "s", 0), 3: ("name", "s", 0), 4: ("uid", "s", 0), 5: ("apiVersion", "s", 0),
                       6: ("controller", "bool", 0), 7: ("blockOwnerDeletion", "bool", 0)},
    "LabelSelector": {1: ("matchLabels", "mss", 0), 2: ("matchExpressions", "LabelSelectorRequirement", 1)},
    "LabelSelectorRequirement": {1: ("key", "s", 0), 2: ("operator", "s", 0), 3: ("values", "s", 1)},
    # authorization.k8s.io/v1
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "SSARSpec", 0)},
    "SSARSpec": {1: ("resourceAttributes", "ResourceAttributes", 0),
                 2: ("nonResourceAttributes", "NonResourceAttributes", 0)},
    "ResourceAttributes": {1: ("namespace", "s", 0), 2: ("verb", "s", 0), 3: ("group", "s", 0),
                           4: ("version", "s", 0), 5: ("resource", "s", 0), 6: ("subresource", "s", 0),
                           7: ("name", "s", 0)},
    "NonResourceAttributes": {1: ("path", "s", 0), 2: ("verb", "s", 0)},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "SSRRSpec", 0)},
    "SSRRSpec": {1: ("namespace", "s", 0)},
    # authentication.k8s.io/v1 (what `kubectl auth whoami` sends: metadata only)
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta", 0)},
    # core/v1
    "Namespace": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "NamespaceSpec", 0)},
    "NamespaceSpec": {1: ("finalizers", "s", 1)},
    "ConfigMap": {1: ("metadata", "ObjectMeta", 0), 2: ("data", "mss", 0), 3: ("binaryData", "msb", 0),
                  4: ("immutable", "bool", 0)},
    "Secret": {1: ("metadata", "ObjectMeta", 0), 2: ("data", "msb", 0), 3: ("type", "s", 0),
               4: ("stringData", "mss", 0), 5: ("immutable", "bool", 0)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", 0)},
    "Service": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "ServiceSpec", 0)},
    "ServiceSpec": {1: ("ports", "ServicePort", 1), 2: ("selector", "mss", 0), 3: ("clusterIP", "s", 0),
                    4: ("type", "s", 0), 7: ("externalName", "s", 0)},
    "ServicePort": {1: ("name", "s", 0), 2: ("protocol", "s", 0), 3: ("port", "i", 0),
                    4: ("targetPort", "ios", 0), 5: ("nodePort", "i", 0)},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "PodSpec", 0)},
    "PodSpec": {2: ("containers", "Container", 1), 3: ("restartPolicy", "s", 0),
                4: ("terminationGracePeriodSeconds", "i", 0), 6: ("dnsPolicy", "s", 0),
                7: ("nodeSelector", "mss", 0), 8: ("serviceAccountName", "s", 0), 10: ("nodeName", "s", 0),
                19: ("schedulerName", "s", 0), 20: ("initContainers", "Container", 1)},
    "Container": {1: ("name", "s", 0), 2: ("image", "s", 0), 3: ("command", "s", 1), 4: ("args", "s", 1),
                  5: ("workingDir", "s", 0), 6: ("ports", "ContainerPort", 1), 7: ("env", "EnvVar", 1),
                  8: ("resources", "ResourceRequirements", 0), 13: ("terminationMessagePath", "s", 0),
                  14: ("imagePullPolicy", "s", 0), 20: ("terminationMessagePolicy", "s", 0)},
    "ContainerPort": {1: ("name", "s", 0), 2: ("hostPort", "i", 0), 3: ("containerPort", "i", 0),
                      4: ("protocol", "s", 0), 5: ("hostIP", "s", 0)},
    "EnvVar": {1: ("name", "s", 0), 2: ("value", "s", 0)},
    "ResourceRequirements": {1: ("limits", "msq", 0), 2: ("requests", "msq", 0)},
    # apps/v1
    "Deployment": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "DeploymentSpec", 0)},
    "DeploymentSpec": {1: ("replicas", "i", 0), 2: ("selector", "LabelSelector", 0),
                       3: ("template", "PodTemplateSpec", 0), 4: ("strategy", "DeploymentStrategy", 0),
                       5: ("minReadySeconds", "i", 0), 6: ("revisionHistoryLimit", "i", 0),
                       7: ("paused", "bool", 0), 9: ("progressDeadlineSeconds", "i", 0)},
    "DeploymentStrategy": {1: ("type", "s", 0), 2: ("rollingUpdate", "RollingUpdateDeployment", 0)},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "ios", 0), 2: ("maxSurge", "ios", 0)},
    # batch/v1
    "Job": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "JobSpec", 0)},
    "JobSpec": {1: ("parallelism", "i", 0), 2: ("completions", "i", 0), 3: ("activeDeadlineSeconds", "i", 0),
                4: ("selector", "LabelSelector", 0), 5: ("manualSelector", "bool", 0),
                6: ("template", "PodTemplateSpec", 0), 7: ("backoffLimit", "i", 0),
                8: ("ttlSecondsAfterFinished", "i", 0)},
    "CronJob": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "CronJobSpec", 0)},
    "CronJobSpec": {1: ("schedule", "s", 0), 2: ("startingDeadlineSeconds", "i", 0),
                    3: ("concurrencyPolicy", "s", 0), 4: ("suspend", "bool", 0),
                    5: ("jobTemplate", "JobTemplateSpec", 0), 6: ("successfulJobsHistoryLimit", "i", 0),
                    7: ("failedJobsHistoryLimit", "i", 0), 8: ("timeZone", "s", 0)},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "JobSpec", 0)},
    # rbac.authorization.k8s.io/v1 (kubectl create role|clusterrole|rolebinding|clusterrolebinding)
    "Role": {1: ("metadata", "ObjectMeta", 0), 2: ("rules", "PolicyRule", 1)},
    "ClusterRole": {1: ("metadata", "ObjectMeta", 0), 2: ("rules", "PolicyRule", 1),
                    3: ("aggregationRule", "AggregationRule", 0)},
    "AggregationRule": {1: ("clusterRoleSelectors", "LabelSelector", 1)},
    "PolicyRule": {1: ("verbs", "s", 1), 2: ("apiGroups", "s", 1), 3: ("resources", "s", 1),
                   4: ("resourceNames", "s", 1), 5: ("nonResourceURLs", "s", 1)},
    "RoleBinding": {1: ("metadata", "ObjectMeta", 0), 2: ("subjects", "Subject", 1), 3: ("roleRef", "RoleRef", 0)},
    "ClusterRoleBinding": {1: ("metadata", "ObjectMeta", 0), 2: ("subjects", "Subject", 1),
                           3: ("roleRef", "RoleRef", 0)},
    "Subject": {1: ("kind", "s", 0), 2: ("apiGroup", "s", 0), 3: ("name", "s", 0), 4: ("namespace", "s", 0)},
    "RoleRef": {1: ("apiGroup", "s", 0), 2: ("kind", "s", 0), 3: ("name", "s", 0)},
    # policy/v1 (kubectl create pdb)
    "PodDisruptionBudget": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "PodDisruptionBudgetSpec", 0)},
    "PodDisruptionBudgetSpec": {1: ("minAvailable", "ios", 0), 2: ("selector", "LabelSelector", 0),
                                3: ("maxUnavailable", "ios", 0), 4: ("unhealthyPodEvictionPolicy", "s", 0)},
    # autoscaling/v1 and v2 (kubectl autoscale)
    "HorizontalPodAutoscaler": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "HorizontalPodAutoscalerSpec", 0)},
    "HorizontalPodAutoscalerSpec": {1: ("scaleTargetRef", "CrossVersionObjectReference", 0),
                                    2: ("minReplicas", "i", 0), 3: ("maxReplicas", "i", 0),
                                    4: ("targetCPUUtilizationPercentage", "i", 0)},
    "HorizontalPodAutoscalerV2": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "HorizontalPodAutoscalerSpecV2", 0)},
    "HorizontalPodAutoscalerSpecV2": {1: ("scaleTargetRef", "CrossVersionObjectReference", 0),
                                      2: ("minReplicas", "i", 0), 3: ("maxReplicas", "i", 0),
                                      4: ("metrics", "MetricSpec", 1)},
    "CrossVersionObjectReference": {1: ("kind", "s", 0), 2: ("name", "s", 0), 3: ("apiVersion", "s", 0)},
    "MetricSpec": {1: ("type", "s", 0), 4: ("resource", "ResourceMetricSource", 0)},
    "ResourceMetricSource": {1: ("name", "s", 0), 2: ("target", "MetricTarget", 0)},
    "MetricTarget": {1: ("type", "s", 0), 2: ("value", "Quantity", 0), 3: ("averageValue", "Quantity", 0),
                     4: ("averageUtilization", "i", 0)},
    # core/v1 (kubectl create quota)
    "ResourceQuota": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "ResourceQuotaSpec", 0)},
    "ResourceQuotaSpec": {1: ("hard", "msq", 0), 2: ("scopes", "s", 1)},
    # networking.k8s.io/v1 (kubectl create ingress); a rule's value is inline in JSON
    "Ingress": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "IngressSpec", 0)},
    "IngressSpec": {1: ("defaultBackend", "IngressBackend", 0), 2: ("tls", "IngressTLS", 1),
                    3: ("rules", "IngressRule", 1), 4: ("ingressClassName", "s", 0)},
    "IngressRule": {1: ("host", "s", 0), 2: ("", "IngressRuleValue", 2)},
    "IngressRuleValue": {1: ("http", "HTTPIngressRuleValue", 0)},
    "HTTPIngressRuleValue": {1: ("paths", "HTTPIngressPath", 1)},
    "HTTPIngressPath": {1: ("path", "s", 0), 2: ("backend", "IngressBackend", 0), 3: ("pathType", "s", 0)},
    "IngressBackend": {4: ("service", "IngressServiceBackend", 0)},
    "IngressServiceBackend": {1: ("name", "s", 0), 2: ("port", "ServiceBackendPort", 0)},
    "ServiceBackendPort": {1: ("name", "s", 0), 2: ("number", "i", 0)},
    "IngressTLS": {1: ("hosts", "s", 1), 2: ("secretName", "s", 0)},
    # authentication.k8s.io/v1 (kubectl create token)
    "TokenRequest": {1: ("metadata", "ObjectMeta", 0), 2: ("spec", "TokenRequestSpec", 0)},
    "TokenRequestSpec": {1: ("audiences", "s", 1), 3: ("boundObjectRef", "BoundObjectReference", 0),
                         4: ("expirationSeconds", "i", 0)},
    "BoundObjectReference": {1: ("kind", "s", 0), 2: ("apiVersion", "s", 0), 3: ("name", "s", 0), 4: ("uid", "s", 0)},
    # scheduling.k8s.io/v1 (kubectl create priorityclass)
    "PriorityClass": {1: ("metadata", "ObjectMeta", 0), 2: ("value", "i", 0), 3: ("globalDefault", "bool", 0),
                      4: ("description", "s", 0), 5: ("preemptionPolicy", "s", 0)},
    "IntOrString": {1: ("type", "i", 0), 2: ("intVal", "i", 0), 3: ("strVal", "s", 0)},
    "Time": {1: ("seconds", "i", 0), 2: ("nanos", "i", 0)},
    "Quantity": {1: ("string", "s", 0)},
}

# Integer fields whose zero is meaningful (pointers in the Go types); other zeros are omitted.
KEEP_ZERO = {"replicas", "parallelism", "completions", "backoffLimit", "revisionHistoryLimit",
             "terminationGracePeriodSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
             "activeDeadlineSeconds", "startingDeadlineSeconds", "ttlSecondsAfterFinished", "intVal",
             "seconds", "type", "minReplicas", "value"}

TOP_LEVEL = {"SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview", "Namespace", "ConfigMap", "Secret",
             "ServiceAccount", "Service", "Deployment", "Job", "CronJob", "Role", "ClusterRole", "RoleBinding",
             "ClusterRoleBinding", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ResourceQuota", "Ingress",
             "TokenRequest", "PriorityClass"}
# A kind whose message differs between API versions.
BY_VERSION = {("autoscaling/v2", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV2"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield num, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _map(buf: bytes, value_type: str) -> tuple:
    key, value = "", None
    for num, _, raw in _fields(buf):
        if num == 1:
            key = raw.decode()
        elif num == 2:
            if value_type == "s":
                value = raw.decode()
            elif value_type == "b":
                value = base64.b64encode(raw).decode()
            else:
                value = decode(raw, "Quantity").get("string", "")
    return key, value if value is not None else ("" if value_type != "q" else "0")


def decode(buf: bytes, message: str) -> dict:
    schema = S[message]
    out: dict = {}
    for num, _, raw in _fields(buf):
        if num not in schema:
            continue
        name, ftype, repeated = schema[num]
        if ftype == "s":
            value = raw.decode()
        elif ftype in ("b", "raw"):
            value = raw if ftype == "raw" else base64.b64encode(raw).decode()
        elif ftype == "i":
            value = _signed(raw)
            if value == 0 and name not in KEEP_ZERO:
                continue
        elif ftype == "bool":
            value = bool(raw)
        elif ftype == "t":
            secs = decode(raw, "Time").get("seconds", 0)
            value = dt.datetime.fromtimestamp(secs, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if secs else None
        elif ftype == "ios":
            ios = decode(raw, "IntOrString")
            value = ios.get("strVal", "") if ios.get("type") == 1 else ios.get("intVal", 0)
        elif ftype in ("mss", "msb", "msq"):
            key, val = _map(raw, ftype[2])
            out.setdefault(name, {})[key] = val
            continue
        else:
            value = decode(raw, ftype)
        if repeated == 2:  # embedded inline in the JSON form
            out.update(value)
        elif repeated:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return {k: v for k, v in out.items() if v not in ("", None, {}, []) and v is not False}


def decode_object(body: bytes) -> dict:
    """A JSON-form object from a protobuf request body (envelope included)."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "protobuf body without the k8s envelope")
    unknown = decode(body[len(MAGIC):], "Unknown")
    type_meta = unknown.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in TOP_LEVEL:
        raise ApiError(415, f"the body of the request was in an unknown format - protobuf is accepted for "
                            f"{', '.join(sorted(TOP_LEVEL))}; send application/json for {kind or 'this kind'}",
                       "UnsupportedMediaType")
    try:
        obj = decode(unknown.get("raw", b""), BY_VERSION.get((type_meta.get("apiVersion", ""), kind), kind))
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"couldn't decode the protobuf request body: {exc}")
    obj["apiVersion"] = type_meta.get("apiVersion", "")
    obj["kind"] = kind
    return obj
