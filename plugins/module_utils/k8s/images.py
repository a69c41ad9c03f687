# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container image references, parsed and judged before anything is rolled out (pure).

The grammar is the registry's (``[registry[:port]/]repository[:tag][@digest]``, a
repository of lower-case path components); a policy adds the inventory's rules: every
image pinned by digest, and only from allowed registries. The preflight judges running
workloads by the same rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])" \
          r"(?::[0-9]+)?"
_REFERENCE = re.compile(r"^(?:(?P<domain>%s)/)?(?P<path>%s(?:/%s)*)(?::(?P<tag>[\w][\w.-]{0,127}))?"
                        r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
                        % (_DOMAIN, _COMPONENT, _COMPONENT))
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


def registry_of(image):
    """The registry an image reference pulls from (``docker.io`` when it names none)."""
    first = (image or "").split("/", 1)[0]
    if "/" in (image or "") and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def parse(image):
    """``{registry, repository, tag, digest}`` of a reference; raises ``ValueError`` saying
    what is wrong with it."""
    if not isinstance(image, str) or not image:
        raise ValueError("it is empty")
    if image != image.strip() or re.search(r"\s", image):
        raise ValueError("it contains whitespace")
    found = _REFERENCE.match(image)
    if not found:
        name = image.split("@", 1)[0]
        if name != name.lower() and "/" not in name:
            raise ValueError("a repository name is lower-case")
        raise ValueError("it is not [registry[:port]/]repository[:tag][@digest]")
    domain = found.group("domain")
    # ``host/path`` without a dot, a port or localhost names a Docker Hub path, not a registry.
    if domain and not ("." in domain or ":" in domain or domain == "localhost" or domain.startswith("[")):
        path = domain.lower() + "/" + found.group("path")
        if domain != domain.lower():
            raise ValueError("a repository name is lower-case")
        domain = None
    else:
        path = found.group("path")
    digest = found.group("digest")
    if digest and digest.startswith("sha256:") and not _SHA256.match(digest):
        raise ValueError("a sha256 digest is 64 lower-case hex digits")
    return {"registry": domain or "docker.io", "repository": path, "tag": found.group("tag"), "digest": digest}


def problems(image, policy=None):
    """What is wrong with ``image`` for ``policy`` (``require_digest``,
    ``allowed_registries``): ``[text]``, empty when it may be rolled out."""
    policy = policy or {}
    try:
        parts = parse(image)
    except ValueError as exc:
        return [str(exc)]
    found = []
    if policy.get("require_digest") and not parts["digest"]:
        found.append("it is not pinned by digest, which this inventory requires (image_policy.require_digest)")
    allowed = policy.get("allowed_registries") or []
    if allowed and parts["registry"] not in allowed:
        found.append("registry %s is not allowed (image_policy.allowed_registries: %s)"
                     % (parts["registry"], ", ".join(allowed)))
    return found


def unpinned(image):
    """True when a valid reference names neither a tag nor a digest (``:latest`` then)."""
    try:
        parts = parse(image)
    except ValueError:
        return False
    return not parts["tag"] and not parts["digest"]


def require_valid(images, policy=None, what="the rollout"):
    """Raise ``InvalidInput`` naming every container whose image may not be rolled out;
    return warnings for those that may but pull whatever ``latest`` is then."""
    bad, warnings = [], []
    for container, image in sorted((images or {}).items()):
        found = problems(image, policy)
        if found:
            bad.append("container %s: %r: %s" % (container, image, "; ".join(found)))
        elif unpinned(image):
            warnings.append("container %s: %s names neither a tag nor a digest: it runs whatever latest is when a "
                            "Pod starts" % (container, image))
    if bad:
        raise InvalidInput("start", what, "; ".join(bad),
                           fix="Give an image reference such as registry.example.com/team/app:1.4.2@sha256:<64 hex>. "
                               "Nothing was changed")
    return warnings
