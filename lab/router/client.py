"""One HTTP(S) request to a router site, the way a client that resolved ``host`` to that
site's address sends it: SNI and the certificate checked against a CA bundle."""

from __future__ import annotations

import json
import socket
import ssl


def request(address: str, port: int, host: str, method: str = "GET", path: str = "/", body=None,
            headers: dict | None = None, ca_file: str | None = None, scheme: str = "https", timeout: float = 10.0):
    """Returns ``(status, headers, body bytes, peer certificate DER or None)``."""
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", f"Content-Length: {len(data)}",
            "Content-Type: application/json"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    raw = socket.create_connection((address, port), timeout)
    cert = None
    if scheme == "https":
        raw = ssl.create_default_context(cafile=ca_file).wrap_socket(raw, server_hostname=host)
        cert = raw.getpeercert(binary_form=True)
    with raw:
        raw.settimeout(timeout)
        raw.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        reply = b""
        while True:
            chunk = raw.recv(65536)
            if not chunk:
                break
            reply += chunk
    header_block, _, payload = reply.partition(b"\r\n\r\n")
    lines = header_block.decode("iso-8859-1").split("\r\n")
    found = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), found, payload, cert
