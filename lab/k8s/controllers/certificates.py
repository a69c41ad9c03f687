"""cert-manager: Issuers and ClusterIssuers Ready, Certificates issued by the lab CA into
kubernetes.io/tls Secrets."""

from __future__ import annotations

import base64
import datetime as dt

from .common import (
    K_CERT, K_CISSUER, K_ISSUER, K_SECRET, LAB, go_duration, iso, now_iso, parse_iso, set_condition
)


class Certificates:
    HANDLERS = {"issuer": "_h_issuer", "certs_in": "_h_certs_in", "cert": "_h_cert"}
    WATCHES = {K_CERT: lambda etype, ns, name: [("cert", ns, name)],
               K_ISSUER: lambda etype, ns, name: [("issuer", K_ISSUER, ns, name)],
               K_CISSUER: lambda etype, ns, name: [("issuer", K_CISSUER, ns, name)],
               K_SECRET: lambda etype, ns, name: [("certs-in", ns)] if etype == "DELETED" else []}

    # -- cert-manager --------------------------------------------------------------------
    def _h_issuer(self, key, ns: str, name: str) -> None:
        issuer = self.get(key, ns, name)
        if issuer is not None and not (issuer.get("status") or {}).get("conditions"):
            kind = "ACMEAccountRegistered" if "acme" in (issuer.get("spec") or {}) else "KeyPairVerified"
            self.set_status(key, issuer, {"conditions": [{
                "type": "Ready", "status": "True", "reason": kind, "message": "Signing CA verified",
                "lastTransitionTime": now_iso(), "observedGeneration": issuer["metadata"].get("generation", 1)}]})
        self._h_certs_in(None)

    def _h_certs_in(self, ns) -> None:
        res = self.res(K_CERT)
        if res is None:
            return
        for entry in self.store.list(K_CERT, ns):
            meta = entry.obj["metadata"]
            self.enqueue("cert", meta["namespace"], meta["name"])

    def _h_cert(self, ns: str, name: str) -> None:
        if self.res(K_CERT) is None:
            return
        cert = self.get(K_CERT, ns, name)
        if cert is None:
            return
        spec = cert.get("spec") or {}
        status = dict(cert.get("status") or {})
        ref = spec.get("issuerRef") or {}
        ikind = ref.get("kind", "Issuer")
        ikey = K_CISSUER if ikind == "ClusterIssuer" else K_ISSUER
        issuer = self.store.get(ikey, "" if ikind == "ClusterIssuer" else ns, ref.get("name", "")) \
            if self.res(ikey) else None
        issuer_ready = issuer is not None and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (issuer.obj.get("status") or {}).get("conditions") or [])
        gen = cert["metadata"].get("generation", 1)
        if not issuer_ready:
            reason = "IssuerNotFound" if issuer is None else "IssuerNotReady"
            msg = f'Referenced "{ikind}" not found' if issuer is None else f'Issuer "{ref.get("name")}" is not Ready'
            status["conditions"] = set_condition(status.get("conditions") or [], "Ready", "False", reason, msg)
            for c in status["conditions"]:
                c["observedGeneration"] = gen
            self.set_status(K_CERT, cert, status)
            return
        secret_name = spec.get("secretName") or name
        secret = self.store.get(K_SECRET, ns, secret_name)
        dns = list(spec.get("dnsNames") or [])
        alt = ",".join(dns)
        ann = (secret.obj["metadata"].get("annotations") or {}) if secret else {}
        up_to_date = secret is not None and ann.get("cert-manager.io/certificate-name") == name and \
            ann.get("cert-manager.io/alt-names", "") == alt and \
            ann.get(LAB + "issued-generation") == str(gen) and status.get("notAfter")
        if not up_to_date:
            offset = go_duration((cert["metadata"].get("annotations") or {}).get(LAB + "not-after-offset"))
            lifetime = offset if offset is not None else (go_duration(spec.get("duration")) or
                                                          self.config.certificate_duration)
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            not_after = now + dt.timedelta(seconds=lifetime)
            not_before = min(now, not_after - dt.timedelta(seconds=60)) - dt.timedelta(minutes=5)
            cn = spec.get("commonName") or (dns[0] if dns else name)
            crt, key = self.ca.issue(cn, dns, spec.get("ipAddresses") or [], not_before, not_after)
            data = {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode(),
                    "ca.crt": base64.b64encode(self.ca.cert_pem).decode()}
            annotations = {"cert-manager.io/certificate-name": name, "cert-manager.io/issuer-name": ref.get("name", ""),
                           "cert-manager.io/issuer-kind": ikind, "cert-manager.io/issuer-group": ref.get("group", "cert-manager.io"),
                           "cert-manager.io/common-name": cn, "cert-manager.io/alt-names": alt,
                           LAB + "issued-generation": str(gen)}
            body = {"metadata": {"name": secret_name, "namespace": ns, "annotations": annotations,
                                 "labels": {"controller.cert-manager.io/fao": "true"}},
                    "type": "kubernetes.io/tls", "data": data}
            current = self.get(K_SECRET, ns, secret_name)
            if current is None:
                self.create(K_SECRET, ns, body)
            else:
                current["metadata"].setdefault("annotations", {}).update(annotations)
                current["data"] = data
                current["type"] = "kubernetes.io/tls"
                self.update(K_SECRET, current)
            renew = go_duration(spec.get("renewBefore"))
            renewal = not_after - dt.timedelta(seconds=renew if renew else lifetime / 3 if lifetime > 0 else 0)
            status.update(notBefore=iso(not_before), notAfter=iso(not_after), renewalTime=iso(renewal),
                          revision=int(status.get("revision", 0)) + 1)
            self.event(cert, "Issuing", "The certificate has been successfully issued")
        expired = parse_iso(status["notAfter"]) <= dt.datetime.now(dt.timezone.utc)
        if expired:
            conds = set_condition(status.get("conditions") or [], "Ready", "False", "Expired",
                                  f"Certificate expired on {status['notAfter']}")
        else:
            conds = set_condition(status.get("conditions") or [], "Ready", "True", "Ready",
                                  "Certificate is up to date and has not expired")
        for c in conds:
            c["observedGeneration"] = gen
        status["conditions"] = conds
        self.set_status(K_CERT, cert, status)
        if not expired:
            left = (parse_iso(status["notAfter"]) - dt.datetime.now(dt.timezone.utc)).total_seconds()
            if left < 3600:
                self.later(left + 0.5, "cert", ns, name, periodic=True)
