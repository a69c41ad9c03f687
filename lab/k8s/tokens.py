"""ServiceAccount tokens: the TokenRequest API (``serviceaccounts/<name>/token``, what
``kubectl create token`` calls), the legacy token Secrets the token controller fills, and
the authentication of both.

Tokens are JWTs (``header.claims.signature``) with the claims a real API server writes
(``iss``, ``sub: system:serviceaccount:<ns>:<name>``, ``aud``, ``exp``, ``kubernetes.io``).
They are signed with HS256 under a key the server draws at start (a real one signs RS256
with its service-account key), so a token outlives neither a restart nor its expiry, nor
the ServiceAccount it names.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time

from .errors import ApiError, now_iso

ISSUER = "https://kubernetes.default.svc.cluster.local"
K_SA = ("", "serviceaccounts")
LEGACY_TYPE = "kubernetes.io/service-account-token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, store) -> None:
        self.store = store
        self.key = secrets.token_bytes(32)

    def sign(self, claims: dict) -> str:
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "lab"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        mac = hmac.new(self.key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(mac)}"

    def identity(self, token: str) -> str | None:
        """``system:serviceaccount:<ns>:<name>`` for a valid, unexpired token of an existing
        ServiceAccount (with the uid it was issued for), else None."""
        try:
            head, body, mac = token.split(".")
            want = hmac.new(self.key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(want, _unb64(mac)):
                return None
            claims = json.loads(_unb64(body))
        except (ValueError, TypeError):
            return None
        if claims.get("exp") is not None and claims["exp"] < time.time():
            return None
        info = claims.get("kubernetes.io") or {}
        account = info.get("serviceaccount") or {}
        entry = self.store.get(K_SA, info.get("namespace", ""), account.get("name", ""))
        if entry is None or entry.obj["metadata"].get("uid") != account.get("uid"):
            return None
        return claims.get("sub")

    def claims(self, account: dict, audiences: list, seconds: int | None, bound: dict | None = None) -> dict:
        meta = account["metadata"]
        now = int(time.time())
        info = {"namespace": meta["namespace"], "serviceaccount": {"name": meta["name"], "uid": meta["uid"]}}
        if bound:
            info[bound.get("kind", "").lower() or "object"] = {"name": bound.get("name"), "uid": bound.get("uid")}
        out = {"aud": audiences, "iat": now, "nbf": now, "iss": ISSUER,
               "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}", "kubernetes.io": info}
        if seconds is not None:
            out["exp"] = now + seconds
        return out

    def request(self, namespace: str, name: str, body: dict) -> dict:
        """Answer a TokenRequest for ServiceAccount ``namespace/name``."""
        entry = self.store.get(K_SA, namespace, name)
        if entry is None:
            raise ApiError(404, f'serviceaccounts "{name}" not found',
                           details={"name": name, "kind": "serviceaccounts"})
        spec = dict((body or {}).get("spec") or {})
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise ApiError(422, 'TokenRequest.authentication.k8s.io "%s" is invalid: spec.expirationSeconds: '
                                'Invalid value: %d: may not specify a duration less than 10 minutes' % (name, seconds),
                           "Invalid")
        spec.setdefault("audiences", [ISSUER])
        spec["expirationSeconds"] = seconds
        spec.setdefault("boundObjectRef", None)
        token = self.sign(self.claims(entry.obj, spec["audiences"], seconds, spec.get("boundObjectRef")))
        expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now_iso()},
                "spec": spec, "status": {"token": token, "expirationTimestamp": expires}}

    def legacy(self, account: dict) -> str:
        """A non-expiring token for a ``kubernetes.io/service-account-token`` Secret."""
        return self.sign(self.claims(account, [ISSUER], None))
