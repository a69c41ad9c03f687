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


class Prometheus:
    def __init__(self, url, token=None, timeout=10.0):
        if not url:
            raise InvalidInput("use", "Prometheus", "prometheus_url is required for prometheus objectives")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = float(timeout)

    def query(self, expr, deadline=None):
        """The samples of an instant query: ``[(labels, float)]`` (NaN samples dropped).

        With ``deadline`` (the task's), the request waits no longer than what is left of it."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        timeout = self.timeout if deadline is None else max(0.1, min(self.timeout, deadline.remaining()))
        try:
            response = open_url("%s/api/v1/query?%s" % (self.url, urlencode({"query": expr})), headers=headers,
                                timeout=timeout)
            try:
                raw = response.read()
            finally:
                response.close()
        except HTTPError as exc:
            detail = _error_of(exc)
            if exc.code in (401, 403):
                raise AuthenticationFailed("query", "Prometheus at %s" % self.url, detail,
                                           fix="Check prometheus_token")
            if exc.code == 400:
                raise InvalidInput("run", "query %r" % expr, detail)
            raise BackendError("query", "Prometheus at %s" % self.url, detail, retryable=exc.code >= 500)
        except (URLError, UrlConnectionError, SSLValidationError, OSError, ValueError) as exc:
            raise ConnectionFailed("reach", "Prometheus at %s" % self.url, describe_exception(exc))
        answer = api_answer(raw, "Prometheus at %s" % self.url,
                            "Check prometheus_url: the server's base URL, for example http://prometheus:9090")
        if answer.get("status") not in (None, "success"):
            raise BackendError("query", "Prometheus at %s" % self.url, answer.get("error") or "status %s"
                               % answer.get("status"), retryable=False)
        data = answer.get("data") or {}
        if data.get("resultType") == "scalar":
            value = float(data["result"][1])
            return [] if math.isnan(value) else [({}, value)]
        samples = []
        for item in data.get("result") or []:
            value = float(item["value"][1])
            if not math.isnan(value) and not math.isinf(value):
                samples.append((item.get("metric") or {}, value))
        return samples


def _error_of(exc):
    try:
        return json.loads(exc.read()).get("error") or "HTTP %d" % exc.code
    except (ValueError, AttributeError, OSError):
        return "HTTP %d" % exc.code
