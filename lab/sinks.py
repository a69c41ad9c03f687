"""The lab's notification sinks: a webhook receiver and an SMTP server, so tests read what
the collection sent.

``python -m lab.sinks --state-dir D --http-port P --smtp-port S --cert C --key K
--user U --password-file F``

- Webhook: every ``POST /hooks/<channel>`` is kept (channel, headers without
  ``Authorization``, JSON body) and answered 200. ``/hooks/fail-<n>/<channel>`` answers 503
  to the first ``n`` requests of that channel, then 200 (a flaky receiver);
  ``/hooks/down/<channel>`` always answers 503.
- SMTP (aiosmtpd): STARTTLS with a certificate of the lab CA, and AUTH (PLAIN, LOGIN with
  the ``Username:``/``Password:`` challenges of common servers) required before MAIL; a wrong password is refused with 535. Delivered messages are kept.
- ``GET /messages`` returns ``{"webhooks": [...], "mail": [...]}``, ``GET /messages/webhooks``
  and ``GET /messages/mail`` one of them; ``DELETE /messages`` empties both. Both are kept in ``<state>/sinks/*.jsonl`` so a restart keeps them.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import signal
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Store:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.failures: dict = {}

    def add(self, kind: str, record: dict) -> None:
        record["received_at"] = time.time()
        with self.lock, open(self.dir / f"{kind}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")

    def read(self, kind: str) -> list:
        path = self.dir / f"{kind}.jsonl"
        with self.lock:
            if not path.exists():
                return []
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def clear(self) -> None:
        with self.lock:
            for kind in ("webhooks", "mail"):
                (self.dir / f"{kind}.jsonl").unlink(missing_ok=True)
            self.failures.clear()

    def should_fail(self, path: str) -> bool:
        """``/hooks/down/x`` always; ``/hooks/fail-<n>/x`` for its first n requests."""
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[1] == "down":
            return True
        if len(parts) >= 3 and parts[1].startswith("fail-") and parts[1][5:].isdigit():
            with self.lock:
                seen = self.failures.get(path, 0)
                self.failures[path] = seen + 1
            return seen < int(parts[1][5:])
        return False


def http_handler(store: Store):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # noqa: D401 - quiet
            return

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            if self.path.split("?")[0] == "/messages":
                return self._answer(200, {"webhooks": store.read("webhooks"), "mail": store.read("mail")})
            kind = self.path.split("?")[0][len("/messages/"):] if self.path.startswith("/messages/") else None
            if kind in ("webhooks", "mail"):  # one kind only: what one receiver got
                return self._answer(200, {kind: store.read(kind)})
            if self.path == "/healthz":
                return self._answer(200, {"ok": True})
            return self._answer(404, {"error": "no such route"})

        def do_DELETE(self):  # noqa: N802
            if self.path == "/messages":
                store.clear()
                return self._answer(200, {"cleared": True})
            return self._answer(404, {"error": "no such route"})

        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.startswith("/hooks/"):
                return self._answer(404, {"error": "no such route"})
            if store.should_fail(self.path):
                return self._answer(503, {"error": "the receiver is down (lab sink)"})
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                return self._answer(400, {"error": "the body is not JSON"})
            headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
            store.add("webhooks", {"channel": self.path.rstrip("/").split("/")[-1], "path": self.path,
                                   "headers": headers, "authorized": "Authorization" in self.headers,
                                   "body": body})
            return self._answer(200, {"ok": True})

    return Handler


def smtp_controller(store: Store, port: int, cert: str, key: str, user: str, password: str):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            body = message.get_body(preferencelist=("plain",))
            store.add("mail", {"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                               "subject": str(message.get("Subject", "")),
                               "body": body.get_content() if body is not None else "",
                               "tls": session.ssl is not None,
                               "login": session.auth_data.login.decode() if session.auth_data else None})
            return "250 Message accepted for delivery"

    class Server(SMTP):
        # The LOGIN challenges most servers send (Postfix, Exchange): clients such as
        # Alertmanager accept only these.
        AuthLoginUsernameChallenge = "Username:"
        AuthLoginPasswordChallenge = "Password:"

    class Smtp(Controller):
        def factory(self):
            return Server(self.handler, **self.SMTP_kwargs)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    controller = Smtp(Handler(), hostname="127.0.0.1", port=port, tls_context=tls,
                            require_starttls=True, auth_required=True, authenticator=authenticator,
                            auth_require_tls=True, ready_timeout=10)
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.sinks")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()
    store = Store(Path(args.state_dir))
    password = Path(args.password_file).read_text(encoding="utf-8").strip()
    smtp = smtp_controller(store, args.smtp_port, args.cert, args.key, args.user, password)
    smtp.start()
    server = ThreadingHTTPServer(("127.0.0.1", args.http_port), http_handler(store))
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
