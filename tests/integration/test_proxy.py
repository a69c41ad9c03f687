"""HTTPS_PROXY, HTTP_PROXY and NO_PROXY as curl and urllib honour them, through the HTTP
transport of http_check, notify and mq_health: a proxy on loopback (CONNECT tunnels for
HTTPS, absolute URLs for HTTP) sees the requests; TLS is still verified end to end; NO_PROXY
and a check aimed at an address of its own (resolve) go direct; a proxy that refuses is
named."""

import base64
import select
import socket
import socketserver
import threading

import pytest
from helpers import run_tasks



class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, password=None):
        self.seen = []
        self.password = password
        socketserver.ThreadingTCPServer.__init__(self, ("127.0.0.1", 0), Handler)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.connection.recv(65536)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = dict((k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line))
        self.server.seen.append((method, target, headers.get("proxy-authorization")))
        if self.server.password:
            wanted = "Basic " + base64.b64encode(b"ops:" + self.server.password.encode()).decode()
            if headers.get("proxy-authorization") != wanted:
                self.connection.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), 5)
            self.connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(upstream, b"")
        else:
            hostport = target.split("://", 1)[1].split("/", 1)[0]
            host, port = hostport.rsplit(":", 1)
            path = "/" + target.split("://", 1)[1].split("/", 1)[1] if "/" in target.split("://", 1)[1] else "/"
            upstream = socket.create_connection((host, int(port)), 5)
            first = head.replace(target.encode(), path.encode(), 1)
            self._pipe(upstream, first)

    def _pipe(self, upstream, first):
        if first:
            upstream.sendall(first)
        sockets = [self.connection, upstream]
        while True:
            ready = select.select(sockets, [], [], 10)[0]
            if not ready:
                break
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    upstream.close()
                    return
                (upstream if sock is self.connection else self.connection).sendall(data)


@pytest.fixture
def proxy():
    server = Proxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _check(name, url):
    return {"name": name, "golive.core.http_check": {"requests": [{"name": name, "url": url, "status": [200, 401, 403]}],
                                                     "count": 1}}


def test_http_check_goes_through_the_proxy_the_environment_names(lab, tmp_path, proxy):
    plain = lab["standins"]["status_url"]
    api = lab["k8s"]["api_server"] + "/version"
    port = proxy.server_address[1]
    env = {"HTTP_PROXY": "http://127.0.0.1:%d" % port, "https_proxy": "http://127.0.0.1:%d" % port,
           "NO_PROXY": ""}
    tasks = [_check("plain", plain),
             {"name": "tls", "golive.core.http_check": {"requests": [{"name": "tls", "url": api,
                                                                      "status": [200, 401, 403]}],
                                                        "count": 1, "ca_file": lab["k8s"]["ca_file"]}}]
    proc, results = run_tasks(tmp_path, *tasks, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    methods = [(m, t) for m, t, _ in proxy.seen]
    assert ("GET", plain) in methods  # plain HTTP: the absolute URL to the proxy
    assert ("CONNECT", api.split("://", 1)[1].split("/", 1)[0]) in methods  # HTTPS: a tunnel, TLS end to end
    assert all(r["checks"][0]["status"] == "pass" for r in results), results
    assert [r["endpoints"][0].get("proxy") for r in results] == ["http://127.0.0.1:%d" % port] * 2  # in the evidence


def test_no_proxy_and_a_pinned_address_go_direct(lab, tmp_path, proxy):
    port = proxy.server_address[1]
    env = {"HTTP_PROXY": "http://127.0.0.1:%d" % port, "HTTPS_PROXY": "http://127.0.0.1:%d" % port,
           "NO_PROXY": "localhost,127.0.0.1"}
    app = lab["app"]
    url = "https://%s:%s/healthz" % (app["hosts"][0], app["https_port"])
    tasks = [_check("no-proxy", lab["standins"]["status_url"]),
             {"name": "pinned", "golive.core.http_check": {
                 "requests": [{"name": "pinned", "url": url}], "count": 1, "ca_file": app["ca_file"],
                 "resolve": {app["hosts"][0]: app["sites"]["old"]}}}]
    proc, results = run_tasks(tmp_path, *tasks, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proxy.seen == []


def test_a_proxy_that_refuses_is_named_and_its_password_masked(lab, tmp_path):
    server = Proxy(password="right-proxy-password")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        env = {"HTTPS_PROXY": "http://ops:wrong-proxy-password@127.0.0.1:%d" % port, "NO_PROXY": ""}
        tasks = [{"name": "tls", "golive.core.http_check": {
            "requests": [{"name": "tls", "url": lab["k8s"]["api_server"] + "/version"}], "count": 1,
            "ca_file": lab["k8s"]["ca_file"]}}]
        proc, _ = run_tasks(tmp_path, *tasks, env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "through the proxy http://127.0.0.1:%d" % port in out and "407" in out, out[-3000:]
        assert "wrong-proxy-password" not in out
        assert server.seen and server.seen[0][2].startswith("Basic ")
    finally:
        server.shutdown()
        server.server_close()
