# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who approved a workflow's approval node, read from the AWX / Automation Controller API.

Two reads: ``/api/v2/workflow_jobs/<id>/workflow_nodes/`` finds the node by its identifier
(or its approval's name) and the approval job it ran, and ``/api/v2/workflow_approvals/<id>/``
says its status and, in ``summary_fields.approved_or_denied_by``, the controller's user who
approved or denied it. Nothing here changes the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.golive.core.plugins.module_utils.common.checks import make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.common.settings import Settings
from ansible_collections.golive.core.plugins.module_utils.http import transport

CHECKLIST = "Stakeholder Approval - Final stakeholder approval obtained"


class Controller:
    def __init__(self, host, token=None, username=None, password=None, ca_file=None, validate_certs=True,
                 timeout=10.0):
        host = (host or "").rstrip("/")
        if not host:
            raise InvalidInput("use", "the controller", "no controller_host is set",
                               fix="Set controller_host (CONTROLLER_HOST, which AWX's controller credential injects)")
        self.url = host if "://" in host else "https://" + host
        transport.split_url(self.url)
        if token:
            self.headers = {"Authorization": "Bearer %s" % token}
        elif username and password:
            pair = ("%s:%s" % (username, password)).encode("utf-8")
            self.headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        else:
            raise InvalidInput("use", "the controller %s" % self.url, "neither a token nor a user and password is set",
                               fix="Set controller_oauthtoken (CONTROLLER_OAUTH_TOKEN) or controller_username and "
                                   "controller_password")
        self.headers["Accept"] = "application/json"
        self.context = transport.tls_context(ca_file, validate_certs) if self.url.startswith("https") else None
        self.deadline = Deadline(timeout)

    def get(self, path):
        what = "the controller API at %s" % self.url
        status, _headers, raw = transport.send("GET", self.url + path, self.headers, context=self.context,
                                               timeout=max(0.5, self.deadline.remaining()))[:3]
        if status == 401:
            raise AuthenticationFailed("authenticate to", what, "the token or password was refused (401)",
                                       fix="Check the controller credential", retryable=False)
        if status == 403:
            raise PermissionDenied("read", "%s%s" % (self.url, path), "403: the user may not read it",
                                   fix="Use a controller user with read access to the workflow job", retryable=False)
        if status == 404:
            raise NotFound("find", "%s%s" % (self.url, path), "404", retryable=False)
        if status >= 300:
            raise BackendError("read", "%s%s" % (self.url, path), "HTTP %s" % status)
        return transport.api_answer(raw, what, "Check controller_host: the controller's base URL, for example "
                                               "https://awx.example.com")


class ControllerSettings(Settings):
    """An AWX/Automation Controller and a login to it, from awx.awx's ``controller_*`` options."""

    FIELDS = (("host", "controller_host", None), ("oauthtoken", "controller_oauthtoken", None),
              ("username", "controller_username", None), ("password", "controller_password", None),
              ("ca_cert", "ca_cert", None), ("validate_certs", "validate_certs", True),
              ("request_timeout", "request_timeout", 10.0))
    SECRETS = ("oauthtoken", "password")


def approval(controller, workflow_job_id, node, checklist=None):
    """The approval node ``node`` of workflow job ``workflow_job_id`` on ``controller`` (a
    :class:`ControllerSettings`): its status and who approved it, as a check that passes only
    for an approved node."""
    api = Controller(controller.host, controller.oauthtoken, controller.username, controller.password,
                     controller.ca_cert, controller.validate_certs, controller.request_timeout or 10.0)
    job_id, wanted = int(workflow_job_id), node
    nodes, path = [], "/api/v2/workflow_jobs/%d/workflow_nodes/?page_size=200" % job_id
    while path:
        page = api.get(path)
        nodes.extend(page.get("results") or [])
        following = page.get("next")
        path = following[following.index("/api/"):] if following and "/api/" in following else None
    approvals = [n for n in nodes if ((n.get("summary_fields") or {}).get("job") or {}).get("type")
                 == "workflow_approval" or ((n.get("summary_fields") or {}).get("unified_job_template") or {})
                 .get("unified_job_type") == "workflow_approval"]
    found = [n for n in approvals if n.get("identifier") == wanted
             or ((n.get("summary_fields") or {}).get("unified_job_template") or {}).get("name") == wanted]
    if not found:
        names = sorted(n.get("identifier") or "?" for n in approvals)
        raise NotFound("find", "approval node %r in workflow job %d" % (wanted, job_id),
                       "its approval nodes are %s" % (", ".join(names) or "none (has the node run yet?)"),
                       fix="Set node to the approval node's identifier in the workflow", retryable=False)
    node = found[0]
    job = (node.get("summary_fields") or {}).get("job") or {}
    approval_id = node.get("job") or job.get("id")
    evidence = {"workflow_job_id": job_id, "node": node.get("identifier"), "approval_id": approval_id,
                "controller": api.url}
    if not approval_id:
        evidence.update(status="not started", approved=False, approved_by=None)
    else:
        answer = api.get("/api/v2/workflow_approvals/%d/" % int(approval_id))
        actor = (answer.get("summary_fields") or {}).get("approved_or_denied_by") or {}
        status = answer.get("status")
        evidence.update(name=answer.get("name"), status=status, finished=answer.get("finished"),
                        timed_out=bool(answer.get("timed_out")),
                        approved=status == "successful" and not answer.get("timed_out"),
                        approved_by=dict((k, actor.get(k)) for k in ("username", "first_name", "last_name"))
                        if actor else None)
    ok = evidence["approved"] and bool(evidence.get("approved_by"))
    problem = None if ok else (
        "approval node %s of workflow job %d is %s%s" % (
            evidence["node"], job_id, "denied" if evidence["status"] == "failed" and not evidence.get("timed_out")
            else "timed out" if evidence.get("timed_out") else evidence["status"] or "unknown",
            " by %s" % evidence["approved_by"]["username"] if evidence.get("approved_by") else ""))
    if problem:
        evidence["problems"] = [problem]
    who = evidence["approved_by"]["username"] if evidence.get("approved_by") else None
    title = "Approval node %s of AWX workflow job %d is approved" % (evidence["node"], job_id)
    result = {"approval": evidence, "approved_by": who if ok else None,
              "checks": [make_check("awx.approval", title, "pass" if ok else "fail", evidence,
                                    checklist or CHECKLIST)]}
    return result
