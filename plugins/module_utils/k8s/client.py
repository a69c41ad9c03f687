# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin Kubernetes API client on top of the official ``kubernetes`` package.

Authentication and TLS come from the official client (kubeconfig, in-cluster, token);
requests return plain JSON dicts, not generated models, because turning thousands of
objects into models costs more than the API call itself. Every request shares the
task's deadline; 429 and 5xx answers are retried, honouring ``Retry-After``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import importlib
import importlib.util
import json
import os
import sys
import threading
import traceback
import types


from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    Conflict,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import as_deadline, retry
from ansible_collections.golive.core.plugins.module_utils.common.settings import Settings
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

USER_AGENT = "golive.core"
_STUBS = ("kubernetes", "kubernetes.client")
_COMPLETING = threading.RLock()
# What the import machinery asks a package for: never a reason to load the rest of it.
_MACHINERY = frozenset(("__path__", "__spec__", "__loader__", "__file__", "__package__", "__cached__",
                        "__builtins__", "_golive_partial_done"))


class _PartialPackage(types.ModuleType):
    """A package of the official client whose ``__init__`` runs only when a name it
    defines is asked for (``kubernetes.client.CoreV1Api``); until then its submodules
    import without it. Anyone in the process who wants the whole package still gets it."""

    def __getattr__(self, name):
        if name in _MACHINERY:
            raise AttributeError(name)
        if not self.__dict__.get("_golive_partial_done"):
            # A submodule asked for by name (``from kubernetes import watch``, which the
            # official dynamic client does) imports on its own: running the package's
            # ``__init__`` in the middle of another submodule's import would be circular.
            try:
                found = importlib.util.find_spec("%s.%s" % (self.__name__, name))
            except (ImportError, ValueError):
                found = None
            if found is not None:
                return importlib.import_module("%s.%s" % (self.__name__, name))
        _complete(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError("module %r has no attribute %r" % (self.__name__, name))


def _complete(package):
    """Run a partial package's own ``__init__`` (once)."""
    with _COMPLETING:
        if not package.__dict__.get("_golive_partial_done"):
            package.__dict__["_golive_partial_done"] = True
            with open(package.__file__, "rb") as handle:
                exec(compile(handle.read(), package.__file__, "exec"), package.__dict__)  # noqa: S102


def _constants(path):
    """The plain constants a package's ``__init__`` assigns (``__version__``): what other
    parts of the official client import from it while they load."""
    found = {}
    with open(path, "rb") as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _api_client(*args, **kwargs):
    """What ``kubernetes.client.ApiClient`` is until the whole package is loaded: the
    kubeconfig loader names it, and only its ``new_client_from_config`` calls it."""
    package = sys.modules["kubernetes.client"]
    if isinstance(package, _PartialPackage):
        _complete(package)
    return package.__dict__["ApiClient"](*args, **kwargs)


def _import_official_client():
    """The official client's configuration, kubeconfig and in-cluster loading (with its
    authentication: tokens, client certificates, exec plugins, OIDC) and its REST
    transport, without importing its ~1,000 generated models and API classes, which
    answers kept as JSON never use and which are two thirds of a module's start-up.
    ``GOLIVE_K8S_IMPORT=full`` imports the whole package instead."""
    if "kubernetes" in sys.modules or os.environ.get("GOLIVE_K8S_IMPORT") == "full":
        importlib.import_module("kubernetes.client")
    else:
        try:
            parent = None
            for name in _STUBS:
                spec = importlib.util.find_spec(name)
                if spec is None or not spec.submodule_search_locations:
                    raise ImportError("No module named %r" % name)
                package = _PartialPackage(name)
                package.__spec__, package.__loader__, package.__file__ = spec, spec.loader, spec.origin
                package.__path__, package.__package__ = list(spec.submodule_search_locations), name
                package.__dict__.update(_constants(spec.origin))
                sys.modules[name] = package
                if parent is not None:
                    setattr(parent, name.rsplit(".", 1)[1], package)
                parent = package
            configuration = importlib.import_module("kubernetes.client.configuration")
            package.__dict__.setdefault("Configuration", configuration.Configuration)
            package.__dict__.setdefault("ApiClient", _api_client)
        except Exception:
            for name in _STUBS:
                if isinstance(sys.modules.get(name), _PartialPackage):
                    del sys.modules[name]
            raise
    return (importlib.import_module("kubernetes.client.configuration"), importlib.import_module("kubernetes.client.rest"),
            importlib.import_module("kubernetes.client.exceptions"), importlib.import_module("kubernetes.config"))


try:
    configuration_module, rest, api_exceptions, kube_config = _import_official_client()
    import urllib3
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


def argument_spec():
    """Connection options shared by every Kubernetes module (doc fragment ``k8s``).

    kubernetes.core's whole set, with its names, aliases and ``K8S_AUTH_*`` variables, so
    its AWX credential type, environments and ``module_defaults`` work unchanged.
    """
    def env(name):
        return (env_fallback, ["K8S_AUTH_%s" % name])

    return dict(
        kubeconfig=dict(type="raw", no_log=True, fallback=env("KUBECONFIG")),
        context=dict(type="str", fallback=env("CONTEXT")),
        host=dict(type="str", fallback=env("HOST")),
        api_key=dict(type="str", no_log=True, fallback=env("API_KEY")),
        username=dict(type="str", fallback=env("USERNAME")),
        password=dict(type="str", no_log=True, fallback=env("PASSWORD")),
        validate_certs=dict(type="bool", aliases=["verify_ssl"], fallback=env("VERIFY_SSL")),
        ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=env("SSL_CA_CERT")),
        client_cert=dict(type="path", aliases=["cert_file"], fallback=env("CERT_FILE")),
        client_key=dict(type="path", aliases=["key_file"], no_log=False, fallback=env("KEY_FILE")),
        proxy=dict(type="str", fallback=env("PROXY")),
        no_proxy=dict(type="str", fallback=env("NO_PROXY")),
        proxy_headers=dict(type="dict", options=dict(
            proxy_basic_auth=dict(type="str", no_log=True, fallback=env("PROXY_HEADERS_PROXY_BASIC_AUTH")),
            basic_auth=dict(type="str", no_log=True, fallback=env("PROXY_HEADERS_BASIC_AUTH")),
            user_agent=dict(type="str", fallback=env("PROXY_HEADERS_USER_AGENT")))),
        persist_config=dict(type="bool", fallback=env("PERSIST_CONFIG")),
        impersonate_user=dict(type="str", fallback=env("IMPERSONATE_USER")),
        impersonate_groups=dict(type="list", elements="str", fallback=env("IMPERSONATE_GROUPS")),
        request_timeout=dict(type="float", default=30.0),
    )


_OPTIONS = ("kubeconfig", "context", "host", "api_key", "username", "password", "validate_certs", "ca_cert",
            "client_cert", "client_key", "proxy", "no_proxy", "proxy_headers", "persist_config", "impersonate_user",
            "impersonate_groups", "request_timeout")


class KubeSettings(Settings):
    """How to reach and authenticate to a Kubernetes API server: kubernetes.core's options,
    under their own names (``K8S_AUTH_*`` variables apply to the ones left unset)."""

    FIELDS = tuple((name, name, 30.0 if name == "request_timeout" else None) for name in _OPTIONS)
    SECRETS = ("kubeconfig", "api_key", "password", "proxy_headers")


def _configuration(settings):
    """The official client's configuration, from the settings as kubernetes.core reads its options:
    a host with a token, a user and password or a client certificate is used directly;
    otherwise a kubeconfig (a path or the kubeconfig itself as a dict, and its context), else
    the in-cluster service account."""
    # An empty value (a field of an AWX credential left empty, an inventory's blank setting)
    # means "not set": the option's K8S_AUTH_* variable then applies, as when it is absent.
    params = dict((k, v) for k, v in settings.values().items() if v not in ("", None))
    for name, spec in argument_spec().items():
        if name not in params and spec.get("fallback"):
            value = os.environ.get(spec["fallback"][1][0], "").strip()
            if not value:
                continue
            if spec["type"] == "bool":
                value = boolean(value, strict=False)
            elif spec["type"] == "list":
                value = [v.strip() for v in value.split(",") if v.strip()]
            elif spec["type"] == "dict":
                continue
            params[name] = value
    config = configuration_module.Configuration()
    direct = params.get("host") and (params.get("api_key") or (params.get("username") and params.get("password"))
                                     or (params.get("client_cert") and params.get("client_key")))
    kubeconfig = params.get("kubeconfig")
    try:
        if direct:
            config.host = params["host"]
        elif isinstance(kubeconfig, dict):
            kube_config.load_kube_config_from_dict(config_dict=kubeconfig, context=params.get("context"),
                                                   client_configuration=config,
                                                   persist_config=bool(params.get("persist_config")))
        elif kubeconfig is not None and not isinstance(kubeconfig, str):
            raise InvalidInput("use", "kubeconfig", "it is a path or the kubeconfig itself (a dict), not %s"
                               % type(kubeconfig).__name__)
        elif kubeconfig or params.get("context") or not _in_cluster():
            kube_config.load_kube_config(config_file=kubeconfig, context=params.get("context"),
                                         client_configuration=config,
                                         persist_config=bool(params.get("persist_config")))
        else:
            kube_config.load_incluster_config(client_configuration=config)
    except (kube_config.ConfigException, OSError, ValueError, TypeError) as exc:
        raise InvalidInput("load", "the Kubernetes client configuration", describe_exception(exc),
                           fix="Set kubeconfig (K8S_AUTH_KUBECONFIG), or host with api_key, a client certificate "
                               "or username and password")
    if params.get("api_key"):
        config.api_key = {"authorization": "Bearer " + params["api_key"]}
    for option, attribute in (("host", "host"), ("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"),
                              ("client_key", "key_file"), ("username", "username"), ("password", "password"),
                              ("proxy", "proxy"), ("no_proxy", "no_proxy")):
        if params.get(option):
            setattr(config, attribute, params[option])
    if params.get("host"):
        config.host = params["host"].rstrip("/")
    if params.get("validate_certs") is not None:
        config.verify_ssl = params["validate_certs"]
    headers = dict((k, v) for k, v in (params.get("proxy_headers") or {}).items() if v)
    if headers:
        config.proxy_headers = urllib3.util.make_headers(**headers)
    # Retries are ours (one deadline); the transport must not retry on its own.
    config.retries = False
    # Modules that act on many objects do so from a thread pool: one connection each.
    config.connection_pool_maxsize = 32
    return config


def extra_headers(settings):
    """Impersonation and basic authentication headers the official client does not add."""
    params = settings.values()
    headers = {}
    if params.get("impersonate_user"):
        headers["Impersonate-User"] = params["impersonate_user"]
    groups = [g for g in params.get("impersonate_groups") or [] if g]
    if groups:
        headers["Impersonate-Group"] = groups
    if params.get("username") and params.get("password") and not params.get("api_key"):
        headers["Authorization"] = urllib3.util.make_headers(
            basic_auth="%s:%s" % (params["username"], params["password"]))["authorization"]
    return headers


def _in_cluster():
    import os
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        "/var/run/secrets/kubernetes.io/serviceaccount/token")


class Kube:
    """Raw JSON access to the API server.

    ``requests`` counts the HTTP requests made, so callers can show (and tests assert)
    how many calls an operation needed.
    """

    def __init__(self, settings, deadline=300):
        self.settings = settings
        self.deadline = as_deadline(deadline)
        self.timeout = float(settings.request_timeout or 30)
        self.config = _configuration(settings)
        self.extra_headers = extra_headers(settings)
        self.transport = rest.RESTClientObject(self.config)
        self.host = self.config.host
        self.requests = 0
        self.max_attempts = 6

    # -- transport -------------------------------------------------------
    def request(self, method, path, query=None, body=None, content_type=None, what=None):
        """Send one request; return the decoded JSON answer (``None`` for an empty body)."""
        what = what or "%s %s" % (method, path)

        def once():
            self.requests += 1
            headers = urllib3.HTTPHeaderDict({"Accept": "application/json", "User-Agent": USER_AGENT,
                                              "Content-Type": content_type or "application/json"})
            for name, value in self.extra_headers.items():
                for item in (value if isinstance(value, list) else [value]):
                    headers.add(name, item)
            # The token as the official client would send it (refreshed by its exec,
            # OIDC or cloud provider hook when one is configured).
            bearer = self.config.auth_settings().get("BearerToken")
            if bearer and bearer.get("value"):
                headers[bearer["key"]] = bearer["value"]
            try:
                response = self.transport.request(
                    method, self.host + path, query_params=list((query or {}).items()), headers=headers,
                    body=body, _preload_content=False,
                    _request_timeout=min(self.timeout, max(self.deadline.remaining(), 1.0)))
            except api_exceptions.ApiException as exc:
                raise self._classify(exc, what)
            except urllib3.exceptions.HTTPError as exc:
                raise ConnectionFailed("reach", "the Kubernetes API at %s" % self.host, describe_exception(exc),
                                       fix="Check the API server address, the network and the CA certificate")
            data = response.data
            return json.loads(data) if data else None

        value, attempts = retry(once, self.deadline, is_retryable=_retryable, what=what,
                                max_attempts=self.max_attempts)
        return value

    def _classify(self, exc, what):
        status = int(exc.status or 0)
        message = _status_message(exc)
        obj = "%s on %s" % (what, self.host)
        if status == 401:
            return AuthenticationFailed("authenticate", "to the Kubernetes API at %s" % self.host, message,
                                        fix="Check the token or client certificate of the kubeconfig")
        if status == 403:
            return PermissionDenied("run", obj, message, fix="Grant the identity the missing RBAC permission")
        if status == 404:
            return NotFound("find", what, message)
        if status == 409:
            # Another writer got there first: repeating the same request cannot help; the
            # caller re-reads and decides.
            return Conflict("apply", what, message, retryable=False)
        error = BackendError("run", obj, "%s (HTTP %d)" % (message, status),
                             retryable=status == 429 or status >= 500)
        retry_after = (exc.headers or {}).get("Retry-After") if exc.headers else None
        if retry_after:
            try:
                error.retry_after = float(retry_after)
            except ValueError:
                pass
        return error

    # -- conveniences ------------------------------------------------------
    def get(self, path, missing_ok=False):
        try:
            return self.request("GET", path)
        except NotFound:
            if missing_ok:
                return None
            raise

    def list(self, path, label_selector=None, field_selector=None):
        """LIST in one request (no pagination: the call count stays constant in cluster size)."""
        query = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        answer = self.request("GET", path, query=query) or {}
        return answer.get("items") or []

    def version(self):
        return self.request("GET", "/version")

    def elsewhere(self, connection):
        """A client of another cluster (the one that keeps the ledger), from its connection
        options as a dict (kubeconfig, context, host, api_key, ca_cert, ...), on this one's deadline."""
        unknown = sorted(set(connection) - set(_OPTIONS))
        if unknown:
            raise InvalidInput("connect", "the ledger's cluster",
                               "ledger.connection takes the Kubernetes connection options (kubeconfig, context, "
                               "host, api_key, ca_cert, ...), not %s" % ", ".join(unknown))
        params = dict((name, None) for name in _OPTIONS)
        params.update(request_timeout=30.0)
        params.update((k, v) for k, v in connection.items() if v is not None)
        return Kube(KubeSettings.from_params(params), deadline=self.deadline)

    def close(self):
        try:
            self.transport.pool_manager.clear()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _retryable(exc):
    if getattr(exc, "retry_after", None):
        return exc.retry_after
    return bool(getattr(exc, "retryable", False))


def _status_message(exc):
    try:
        body = json.loads(exc.body or "{}")
        if isinstance(body, dict) and body.get("message"):
            return body["message"]
    except (TypeError, ValueError):
        pass
    return (exc.reason or "HTTP %s" % exc.status).strip()
