"""Stand-ins for third-party systems no Debian package provides (``lab/standins.py``): a
search API, a CDN edge, provider sandboxes, a feature-flag service and a status page, on
one HTTP port. They are stand-ins, written from the public API references of what they
stand for, and serve only the endpoints the checks use."""

from __future__ import annotations

import sys
import urllib.request

from lab.base import REPO_ROOT, LabContext, Service, write_file

PROCESS = "standins"


def _ready(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
        return resp.status == 200


class Standins(Service):
    name = "standins"
    processes = {PROCESS: ("standins",)}

    def start(self, ctx: LabContext) -> dict:
        port = ctx.port("standins")
        token_file = ctx.path("standins") / "sandbox-token"
        write_file(token_file, ctx.secret("sandbox_token") + "\n", 0o600)
        ctx.spawn(PROCESS, [sys.executable, "-m", "lab.standins", "--port", str(port), "--token-file", str(token_file)],
                  ports=[port], cwd=REPO_ROOT,
                  match="lab.standins", ready=lambda: _ready(port))
        url = f"http://{ctx.host}:{port}"
        return {"standins": {"url": url, "search_url": f"{url}/search", "cdn_url": f"{url}/cdn",
                             "sandbox_url": f"{url}/sandbox", "flags_url": f"{url}/flags",
                             "status_url": f"{url}/status/api/v2/status.json",
                             "controller_url": f"{url}/awx",
                             "sandbox_token": ctx.secret("sandbox_token")}}
