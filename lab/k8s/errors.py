"""API errors rendered as metav1.Status, the way a real API server answers."""

from __future__ import annotations

import json

import datetime as dt


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> dt.datetime:
    return dt.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)


REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def not_found(res, name: str) -> ApiError:
    group = res.group
    what = f"{res.plural}.{group}" if group else res.plural
    return ApiError(404, f'{what} "{name}" not found',
                    details={"name": name, "group": group, "kind": res.plural})


def already_exists(res, name: str) -> ApiError:
    what = f"{res.plural}.{res.group}" if res.group else res.plural
    return ApiError(409, f'{what} "{name}" already exists', "AlreadyExists",
                    details={"name": name, "group": res.group, "kind": res.plural})


def conflict(res, name: str) -> ApiError:
    what = f"{res.plural}.{res.group}" if res.group else res.plural
    return ApiError(409, f'Operation cannot be fulfilled on {what} "{name}": the object has been '
                         f'modified; please apply your changes to the latest version and try again',
                    "Conflict", details={"name": name, "group": res.group, "kind": res.plural})


def precondition_failed(res, name: str, what: str, wanted, found) -> ApiError:
    """A delete whose UID or resourceVersion precondition does not hold (409), as the
    storage layer words it."""
    qualified = f"{res.plural}.{res.group}" if res.group else res.plural
    return ApiError(409, f'Operation cannot be fulfilled on {qualified} "{name}": Precondition failed: {what} in '
                         f'precondition: {wanted}, {what} in object meta: {found}', "Conflict",
                    details={"name": name, "group": res.group, "kind": res.plural})


def invalid(res, name: str, message: str, field: str = "") -> ApiError:
    causes = [{"reason": "FieldValueInvalid", "message": message, "field": field}] if field else []
    details = {"name": name, "group": res.group, "kind": res.kind}
    if causes:
        details["causes"] = causes
    return ApiError(422, f'{res.kind} "{name}" is invalid: {field + ": " if field else ""}{message}',
                    "Invalid", details=details)


# Compact JSON, as the API server writes it.
dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def parse_bool(value) -> bool:
    """A boolean query parameter, as the API server reads one."""
    return value in ("1", "t", "T", "true", "TRUE", "True")
