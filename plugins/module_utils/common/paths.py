# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes API's resource paths (pure): shared by the k8s services and the ledger,
which is handed its storage and names the objects it keeps by these paths."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote


def resource_path(group_version, plural, namespace=None, name=None, subresource=None):
    """``/api/v1/...`` or ``/apis/<group>/<version>/...`` for a resource."""
    base = "/api/%s" % group_version if "/" not in group_version else "/apis/%s" % group_version
    if namespace:
        base += "/namespaces/%s" % quote(namespace, safe="")
    base += "/" + plural
    if name:
        base += "/" + quote(name, safe="")
    if subresource:
        base += "/" + subresource
    return base
