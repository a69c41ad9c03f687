# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP(S) request the way a client that resolved the name somewhere else sends it.

The TCP connection goes to an explicit address (``resolve``: a fixed map, or the answer of
a chosen DNS server), while SNI, certificate verification and the ``Host`` header use the
URL's host name, as ``curl --resolve`` does. So a check can follow a DNS cutover, or aim
at the old and the new site of the same name.

A request whose host is resolved the system's way goes through the proxy the environment
names, as curl and Python's urllib do: ``HTTPS_PROXY``/``HTTP_PROXY`` (or lower case), except
for the hosts of ``NO_PROXY``; HTTPS through a CONNECT tunnel, so TLS and its verification
stay end to end. A request aimed at an address of its own (``resolve``, a DNS server) means
to reach that address and does not go through a proxy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import json
import re
import socket
import ssl
import time
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    BackendError,
    ConnectionFailed,
    InvalidInput,
    describe_exception,
)

try:
    import dns.exception
    import dns.message
    import dns.query
    import dns.rdatatype
    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - only needed to ask a DNS server
    HAS_DNSPYTHON = False


def _is_address(text):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):
            pass
    return False


class Resolver:
    """Where to connect for a host: a fixed address, a DNS server's answer, or the system."""

    def __init__(self, fixed=None, dns_server=None, dns_port=53, timeout=3.0):
        self.fixed = dict(fixed or {})
        self.dns_server = dns_server
        self.dns_port = int(dns_port or 53)
        self.timeout = timeout
        self.answers = {}

    def pinned(self, host):
        """Whether ``host`` is resolved here (a fixed address or a chosen DNS server)."""
        return host in self.fixed or bool(self.dns_server)

    def address(self, host):
        if host in self.fixed:
            target = self.fixed[host]
            # A name instead of an address: connect where the DNS server sends that name (a
            # region's own name for the global one), like curl's --connect-to.
            if self.dns_server and not _is_address(target):
                if target not in self.answers:
                    self.answers[target] = self._ask(target)
                return self.answers[target]
            return target
        if self.dns_server:
            if host not in self.answers:
                self.answers[host] = self._ask(host)
            return self.answers[host]
        return host

    def _ask(self, host):
        if not HAS_DNSPYTHON:
            raise InvalidInput("resolve", host, "asking a DNS server needs the dnspython library")
        query = dns.message.make_query(host.rstrip(".") + ".", dns.rdatatype.A)
        try:
            answer = dns.query.udp(query, self.dns_server, port=self.dns_port, timeout=self.timeout)
        except (dns.exception.DNSException, OSError) as exc:
            raise ConnectionFailed("resolve", "%s with DNS server %s:%s" % (host, self.dns_server, self.dns_port),
                                   describe_exception(exc))
        for rrset in answer.answer:
            for item in rrset:
                if item.rdtype == dns.rdatatype.A:
                    return item.address
        raise ConnectionFailed("resolve", "%s with DNS server %s:%s" % (host, self.dns_server, self.dns_port),
                               "no A record in the answer", retryable=False)


def tls_context(ca_file=None, validate=True):
    if not validate:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput("load", "the CA bundle %s" % ca_file, describe_exception(exc))


def _connect(address, port, timeout):
    sock = socket.create_connection((address, port), timeout)
    # A request's headers and body may leave in two writes: do not let Nagle hold the second.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ``address`` with SNI and verification for ``host``."""

    def __init__(self, host, port, address, context, timeout):
        http.client.HTTPSConnection.__init__(self, host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self):
        sock = _connect(self._address, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class _PlainConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        http.client.HTTPConnection.__init__(self, host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = _connect(self._address, self.port, self.timeout)


class _TunnelConnection(http.client.HTTPSConnection):
    """HTTPS to ``host`` through an HTTP proxy's CONNECT tunnel (TLS verified for ``host``)."""

    def __init__(self, proxy_host, proxy_port, host, port, context, timeout, proxy_headers=None):
        http.client.HTTPSConnection.__init__(self, proxy_host, proxy_port, timeout=timeout, context=context)
        self.set_tunnel(host, port, headers=proxy_headers)


def proxy_for(scheme, host, port, environ_proxies=None):
    """The proxy URL the environment names for a request to ``host`` (None: go direct)."""
    proxies = getproxies_environment() if environ_proxies is None else environ_proxies
    url = proxies.get(scheme)
    if not url:
        return None
    if proxy_bypass_environment(host, proxies) or proxy_bypass_environment("%s:%s" % (host, port), proxies):
        return None
    return url if "://" in url else "http://" + url


def _proxy_connection(scheme, host, port, proxy, context, timeout):
    parts = urlsplit(proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise InvalidInput("use", "the proxy %s" % _without_userinfo(proxy),
                           "only http:// proxies are supported (HTTPS goes through their CONNECT tunnel)",
                           fix="Set HTTPS_PROXY/HTTP_PROXY to an http:// proxy, or list the host in NO_PROXY")
    headers = {}
    credentials = basic_auth(proxy)
    if credentials:
        headers["Proxy-Authorization"] = credentials
    proxy_port = parts.port or 3128
    if scheme == "https":
        return _TunnelConnection(parts.hostname, proxy_port, host, port, context, timeout, headers), headers
    return _PlainConnection(parts.hostname, proxy_port, parts.hostname, timeout), headers


def _cause(exc, proxy):
    text = describe_exception(exc)
    return "%s (through the proxy %s)" % (text, _without_userinfo(proxy)) if proxy else text


def _proxy_of(scheme, host, port, resolver, use_proxy=True):
    """The proxy a request takes: none when it is aimed at an address of its own (the
    resolver pins the host) or told not to use one, else what the environment names."""
    return proxy_for(scheme, host, port) if use_proxy and not resolver.pinned(host) else None


def route(url, resolver=None):
    """``(address, proxy)`` a request to ``url`` would take: the address it connects to, or
    the proxy (without its user-info) it goes through (for evidence)."""
    scheme, host, port, _path = split_url(url)
    resolver = resolver or Resolver()
    proxy = _proxy_of(scheme, host, port, resolver)
    if proxy:
        return None, _without_userinfo(proxy)
    return resolver.address(host), None


def _without_userinfo(url):
    parts = urlsplit(url)
    return "%s://%s%s" % (parts.scheme, parts.hostname or "", ":%s" % parts.port if parts.port else "")


def api_answer(raw, what, fix, kinds=(dict,)):
    """The JSON an HTTP API answered (an object, or one of ``kinds``); an answer that is not
    (an HTML page, a proxy's error) is named as such, with its first characters (shared by
    the collection's HTTP API clients)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    try:
        answer = json.loads(text) if text.strip() else {}
    except ValueError:
        answer = None
    if not isinstance(answer, kinds):
        sample = " ".join(text.split())[:80]
        raise BackendError("read", what, "it answered with something that is not its API (%s%s)" % (
            "not JSON: " if answer is None else "JSON, but not what it answers: ", sample or "an empty body"),
            fix=fix, retryable=False)
    return answer


def basic_auth(url):
    """The Basic Authorization a URL's user-info asks for (None without one)."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return None
    pair = "%s:%s" % (unquote(parts.username or ""), unquote(parts.password or ""))
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def split_url(url):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("use", "URL %r" % url, "it is not a URL (%s)" % exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("use", "URL %r" % url, "it must be an absolute http:// or https:// URL")
    if re.search(r"\s", url):
        raise InvalidInput("use", "URL %r" % url, "it contains whitespace (encode it as %20)")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def send(method, url, headers=None, body=None, resolver=None, context=None, timeout=10.0, use_proxy=True):
    """Send one request; return ``(status, headers, body bytes, seconds, peer DER)``.

    Network and TLS failures raise ``ConnectionFailed`` (the caller counts them as errors).
    """
    scheme, host, port, path = split_url(url)
    headers = dict(headers or {})
    credentials = basic_auth(url)
    if credentials and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = credentials  # as curl does with user:password@ in a URL
    resolver = resolver or Resolver()
    proxy = _proxy_of(scheme, host, port, resolver, use_proxy)
    target = path
    if proxy:
        conn, proxy_headers = _proxy_connection(scheme, host, port, proxy, context or tls_context(), timeout)
        address = "proxy %s" % _without_userinfo(proxy)
        if scheme == "http":  # a plain request goes to the proxy with the absolute URL
            target = "http://%s:%s%s" % (host, port, path)
            headers.update(proxy_headers)
    elif scheme == "https":
        address = resolver.address(host)
        conn = _Connection(host, port, address, context or tls_context(), timeout)
    else:
        address = resolver.address(host)
        conn = _PlainConnection(host, port, address, timeout)
    where = "through the %s" % address if proxy else "connected to %s:%s" % (address, port)
    started = time.monotonic()
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.monotonic() - started
        peer = conn.sock.getpeercert(binary_form=True) if scheme == "https" and conn.sock else None
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), data, elapsed, peer
    except ssl.SSLError as exc:
        raise ConnectionFailed("verify", "TLS of %s (%s)" % (host, where), _cause(exc, proxy), retryable=False)
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionFailed("reach", "%s (%s)" % (url, where), _cause(exc, proxy))
    finally:
        conn.close()
