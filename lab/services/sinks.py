"""The notification sinks (``lab/sinks.py``): a webhook receiver and an SMTP server with
STARTTLS and AUTH, whose certificate the lab CA signs. Tests read what was sent from
``GET <sink_url>/messages``. The SMTP password is a lab secret like the others, and the
evidence-report test uses it as the canary a report must never contain."""

from __future__ import annotations

import json
import sys
import urllib.request

from lab.base import REPO_ROOT, LabContext, Service, write_file

PROCESS = "sinks"
SMTP_USER = "golive-notify"


def _ready(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
        return resp.status == 200


class Sinks(Service):
    name = "sinks"
    processes = {PROCESS: ("sinks-http", "sinks-smtp")}
    depends = ("k8s",)

    def start(self, ctx: LabContext) -> dict:
        from lab.k8s.pki import CA

        http_port, smtp_port = ctx.port("sinks-http"), ctx.port("sinks-smtp")
        state = ctx.path("sinks")
        password = ctx.secret("smtp_password")
        ca_dir = ctx.state_dir / "k8s"
        if not ctx.running_pid(PROCESS):
            cert, key = CA.load_or_create(ca_dir).issue("golive-lab-smtp", ["localhost"], [ctx.host])
            write_file(state / "smtp.crt", cert.decode(), 0o644)
            write_file(state / "smtp.key", key.decode(), 0o600)
            write_file(state / "smtp.password", password + "\n", 0o600)
        argv = [sys.executable, "-m", "lab.sinks", "--state-dir", str(state), "--http-port", str(http_port),
                "--smtp-port", str(smtp_port), "--cert", str(state / "smtp.crt"), "--key", str(state / "smtp.key"),
                "--user", SMTP_USER, "--password-file", str(state / "smtp.password")]
        ctx.spawn(PROCESS, argv, ports=[http_port, smtp_port], cwd=REPO_ROOT, match="lab.sinks", timeout=30,
                  ready=lambda: _ready(http_port))
        url = f"http://{ctx.host}:{http_port}"
        return {"notify": {
            "sink_url": url, "webhook_url": f"{url}/hooks",
            "smtp_host": ctx.host, "smtp_port": smtp_port, "smtp_user": SMTP_USER, "smtp_password": password,
            "ca_file": str(ca_dir / "ca.crt"),
        }}


def messages(sink_url: str) -> dict:
    """What the sinks received: ``{"webhooks": [...], "mail": [...]}`` (for tests)."""
    with urllib.request.urlopen(f"{sink_url}/messages", timeout=5) as resp:
        return json.loads(resp.read())
