# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instant queries against the Prometheus HTTP API (``/api/v1/query``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import SSLValidationError, open_url

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    InvalidInput,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.http.transport import api_answer


def call(base, path, what, fix, token=None, timeout=10.0, method="GET", body=None, ca_file=None,
         validate_certs=True, kinds=(dict,), token_option="the token"):
    """One request to a Prometheus-style JSON API (Prometheus, Alertmanager) at ``base``:
    the decoded answer; errors mapped to the collection's, naming ``what`` and the ``fix``."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        response = open_url(base.rstrip("/") + path, method=method, data=data, headers=headers, timeout=timeout,
                            ca_path=ca_file, validate_certs=validate_certs)
        try:
            raw = response.read()
        finally:
            response.close()
    except HTTPError as exc:
        detail = _error_of(exc)
        if exc.code in (401, 403):
            raise AuthenticationFailed(method.lower() if method != "GET" else "query", what, detail,
                                       fix="Check %s" % token_option)
        if exc.code == 400:
            raise InvalidInput("send", "a request to %s" % what, detail)
        raise BackendError("query", what, detail, retryable=exc.code >= 500)
    except (URLError, UrlConnectionError, SSLValidationError, OSError, ValueError) as exc:
        raise ConnectionFailed("reach", what, describe_exception(exc))
    if not raw.strip():
        return {}
    return api_answer(raw, what, fix, kinds=kinds)


class Prometheus:
    def __init__(self, url, token=None, timeout=10.0, ca_file=None, validate_certs=True):
        if not url:
            raise InvalidInput("use", "Prometheus", "prometheus_url is required for prometheus objectives")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = float(timeout)
        self.ca_file = ca_file
        self.validate_certs = validate_certs

    def api(self, path, deadline=None):
        """The ``data`` of a GET of ``/api/v1/<path>``."""
        timeout = self.timeout if deadline is None else max(0.1, min(self.timeout, deadline.remaining()))
        answer = call(self.url, "/api/v1/" + path, "Prometheus at %s" % self.url,
                      "Check prometheus_url: the server's base URL, for example http://prometheus:9090",
                      self.token, timeout, ca_file=self.ca_file, validate_certs=self.validate_certs,
                      token_option="prometheus_token")
        if answer.get("status") not in (None, "success"):
            raise BackendError("query", "Prometheus at %s" % self.url, answer.get("error") or "status %s"
                               % answer.get("status"), retryable=False)
        return answer.get("data") or {}

    def query(self, expr, deadline=None, at=None):
        """The samples of an instant query: ``[(labels, float)]`` (NaN samples dropped);
        ``at`` (epoch seconds) evaluates it then instead of now.

        With ``deadline`` (the task's), the request waits no longer than what is left of it."""
        params = {"query": expr}
        if at is not None:
            params["time"] = "%.3f" % at
        try:
            data = self.api("query?%s" % urlencode(params), deadline)
        except InvalidInput as exc:
            raise InvalidInput("run", "query %r" % expr, exc.cause)
        if data.get("resultType") == "scalar":
            value = float(data["result"][1])
            return [] if math.isnan(value) else [({}, value)]
        samples = []
        for item in data.get("result") or []:
            value = float(item["value"][1])
            if not math.isnan(value) and not math.isinf(value):
                samples.append((item.get("metric") or {}, value))
        return samples

    def query_range(self, expr, start, end, step, deadline=None):
        """The first series of a range query: ``[(epoch, float)]`` (NaN and infinite values dropped)."""
        try:
            data = self.api("query_range?%s" % urlencode({"query": expr, "start": "%.3f" % start,
                                                         "end": "%.3f" % end, "step": "%d" % step}), deadline)
        except InvalidInput as exc:
            raise InvalidInput("run", "query %r" % expr, exc.cause)
        result = data.get("result") or []
        if not result:
            return []
        points = []
        for t, value in result[0].get("values") or []:
            value = float(value)
            if not math.isnan(value) and not math.isinf(value):
                points.append((float(t), value))
        return points


def _error_of(exc):
    try:
        return json.loads(exc.read()).get("error") or "HTTP %d" % exc.code
    except (ValueError, AttributeError, OSError):
        return "HTTP %d" % exc.code
