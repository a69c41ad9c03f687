"""The lab's own image registry: which images exist, and what each one runs.

An image is ``registry.lab.example/<app>:<tag>`` optionally pinned as ``@sha256:<digest>``.
The digest of an image is the sha256 of its name and tag, so a pinned reference to a tag
that does not exist, or a digest that does not match the tag, fails to pull, as on a
registry.
"""

from __future__ import annotations

import hashlib
import re

REGISTRY = "registry.lab.example"

# app -> tag -> how that build behaves. ``requires`` are the columns its queries use (the
# migrations of its release); ``ready`` false is a build that never becomes ready;
# ``vulnerabilities`` are what an image scan finds in it (the lab's scanner reports them).
_LOW = {"vulnerabilityID": "CVE-2024-2511", "severity": "LOW", "resource": "libssl3", "installedVersion": "3.0.13-1",
        "fixedVersion": "3.0.14-1", "title": "openssl: unbounded memory growth with session handling in TLSv1.3",
        "primaryLink": "https://avd.aquasec.com/nvd/cve-2024-2511"}
_CRITICAL = {"vulnerabilityID": "CVE-2024-45490", "severity": "CRITICAL", "resource": "libexpat1",
             "installedVersion": "2.5.0-1", "fixedVersion": "2.5.0-1+deb12u1",
             "title": "libexpat: Negative Length Parsing Vulnerability in libexpat",
             "primaryLink": "https://avd.aquasec.com/nvd/cve-2024-45490"}
IMAGES = {
    "pager": {
        "2026.11.2": {"requires": ["incidents.severity"], "ready": True, "vulnerabilities": [_LOW]},
        "2026.11.3": {"requires": ["incidents.severity", "incidents.acknowledged_at"], "ready": True,
                      "vulnerabilities": [_LOW]},
        # A build that passes every functional test and carries a critical finding.
        "2026.11.3-vulnerable": {"requires": ["incidents.severity", "incidents.acknowledged_at"], "ready": True,
                                 "vulnerabilities": [_LOW, _CRITICAL]},
        "2026.11.3-unready": {"requires": ["incidents.severity", "incidents.acknowledged_at"], "ready": False},
        # A patch build of the running release: no migration of its own.
        "2026.11.2-1": {"requires": ["incidents.severity"], "ready": True},
    },
    "maintenance": {
        "1": {"requires": [], "ready": True},
    },
}

_REF = re.compile(r"^(?P<registry>[^/]+)/(?P<app>[a-z0-9-]+):(?P<tag>[A-Za-z0-9._-]+)(@sha256:(?P<digest>[0-9a-f]{64}))?$")


class PullError(Exception):
    """The image cannot be pulled; the text is what a kubelet would report."""


def is_lab_image(image: str) -> bool:
    return (image or "").startswith(REGISTRY + "/")


def digest(app: str, tag: str) -> str:
    return hashlib.sha256(f"{REGISTRY}/{app}:{tag}".encode()).hexdigest()


def pinned(app: str, tag: str) -> str:
    """The image reference pinned by digest."""
    return f"{REGISTRY}/{app}:{tag}@sha256:{digest(app, tag)}"


def resolve(image: str) -> tuple[str, str, dict]:
    """``(app, tag, build)`` of a lab image, or ``PullError`` with the kubelet's words."""
    match = _REF.match(image or "")
    if not match or match.group("registry") != REGISTRY:
        raise PullError(f'failed to resolve reference "{image}": invalid reference format')
    app, tag = match.group("app"), match.group("tag")
    build = IMAGES.get(app, {}).get(tag)
    if build is None:
        raise PullError(f'failed to pull and unpack image "{image}": failed to resolve reference '
                        f'"{REGISTRY}/{app}:{tag}": {REGISTRY}/{app}:{tag}: not found')
    if match.group("digest") and match.group("digest") != digest(app, tag):
        raise PullError(f'failed to pull and unpack image "{image}": manifest unknown: '
                        f'digest sha256:{match.group("digest")[:12]}... does not match tag {tag}')
    return app, tag, build
