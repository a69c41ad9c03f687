"""A small client for the lab-only admin endpoints (`/_lab/...`) that tests use to
switch faults, the RBAC policy, the reported version and controller timing."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request


class LabControl:
    def __init__(self, api_server: str, admin_token: str, ca_file: str) -> None:
        self.base = api_server.rstrip("/")
        self.token = admin_token
        self.ssl = ssl.create_default_context(cafile=ca_file)

    @classmethod
    def from_endpoints(cls, endpoints: dict) -> "LabControl":
        return cls(endpoints["api_server"], endpoints["admin_token"], endpoints["ca_file"])

    def _call(self, method: str, what: str, body: dict | None = None, timeout: float = 60) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/_lab/{what}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ssl, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")

    # Faults: rules of {path, methods, fraction, latency, status, retry_after, drop, times}.
    def set_faults(self, *rules: dict, seed: int | None = None) -> dict:
        return self._call("PUT", "faults", {"rules": list(rules), "seed": seed})

    def clear_faults(self) -> dict:
        return self._call("DELETE", "faults")

    def faults(self) -> dict:
        return self._call("GET", "faults")

    # The authorization policy behind SelfSubjectAccessReview / SelfSubjectRulesReview.
    def set_policy(self, policy: dict) -> dict:
        return self._call("PUT", "policy", policy)

    def reset_policy(self) -> dict:
        return self._call("DELETE", "policy")

    # version, controller_delay, bookmark_interval, certificate_duration
    def configure(self, **settings) -> dict:
        return self._call("PATCH", "config", settings)

    def config(self) -> dict:
        return self._call("GET", "config")

    def load_scenario(self, name: str) -> dict:
        return self._call("POST", "scenario", {"name": name}, timeout=120)

    def settle(self, timeout: float = 30) -> bool:
        """Wait until the controllers have nothing left to do (pending Pod starts included)."""
        return bool(self._call("POST", "settle", {"timeout": timeout}, timeout=timeout + 10)["settled"])

    def compact(self) -> int:
        """Drop the watch event history; watches from older resourceVersions then get 410 Gone."""
        return int(self._call("POST", "compact")["compacted"])

    def stats(self) -> dict:
        return self._call("GET", "stats")
