"""Fault injection: latency, throttling (429 with Retry-After), errors and dropped
connections on a chosen fraction of requests, selected by path and method.

    {"seed": 1, "rules": [
       {"path": "/apis/apps/v1/.*", "methods": ["GET"], "fraction": 0.5,
        "latency": 0.2, "status": 429, "retry_after": 1, "drop": false, "times": 3}]}
"""

from __future__ import annotations

import random
import re
import threading


class FaultRule:
    def __init__(self, spec: dict) -> None:
        self.spec = dict(spec)
        self.path = re.compile(spec.get("path") or ".*")
        self.methods = {m.upper() for m in spec.get("methods") or []}
        self.fraction = float(spec.get("fraction", 1.0))
        self.latency = float(spec.get("latency", 0) or 0)
        self.status = int(spec.get("status", 0) or 0)
        self.retry_after = spec.get("retry_after")
        self.drop = bool(spec.get("drop", False))
        self.times = spec.get("times")  # how many more times it may fire; None = unlimited
        self.hits = 0

    def describe(self) -> dict:
        return {**self.spec, "hits": self.hits, "remaining": self.times}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.rng = random.Random()

    def configure(self, doc: dict) -> None:
        with self._lock:
            self.rules = [FaultRule(r) for r in doc.get("rules") or []]
            if doc.get("seed") is not None:
                self.rng = random.Random(doc["seed"])

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def describe(self) -> dict:
        with self._lock:
            return {"rules": [r.describe() for r in self.rules]}

    def pick(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request (latency rules combine with one failure)."""
        fired = []
        with self._lock:
            for rule in self.rules:
                if rule.methods and method.upper() not in rule.methods:
                    continue
                if not rule.path.search(path):
                    continue
                if rule.times is not None and rule.times <= 0:
                    continue
                if self.rng.random() >= rule.fraction:
                    continue
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                fired.append(rule)
        return fired
