"""RabbitMQ (Debian's ``rabbitmq-server``) as a node of the lab's own: its node name, AMQP,
distribution and management ports, an epmd of its own on a lab port, data, logs and the
Erlang cookie under ``<state>/rabbitmq``. The management plugin serves the HTTP API that
``golive.core.mq_health`` uses; the first boot creates the user ``golive`` (password: a lab
secret) with the vhost ``golive``."""

from __future__ import annotations

import base64
import urllib.request

from lab.base import LabContext, Service, write_file

USER = "golive"
VHOST = "golive"
NODE = "golivelab@localhost"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def _ready(port: int, password: str) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/vhosts/{VHOST}")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=2) as resp:
        return resp.status == 200


class RabbitMQ(Service):
    name = "rabbitmq"
    processes = {"rabbitmq-epmd": ("rabbitmq-epmd",), "rabbitmq": ("rabbitmq-amqp", "rabbitmq-management")}

    def env(self, ctx: LabContext) -> dict:
        base = ctx.path("rabbitmq")
        return {
            "HOME": str(base), "RABBITMQ_NODENAME": NODE, "RABBITMQ_USE_LONGNAME": "false",
            "ERL_EPMD_PORT": str(ctx.port("rabbitmq-epmd")), "RABBITMQ_DIST_PORT": str(ctx.port("rabbitmq-dist")),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"), "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        }

    def start(self, ctx: LabContext) -> dict:
        base = ctx.path("rabbitmq")
        amqp, management, epmd = ctx.port("rabbitmq-amqp"), ctx.port("rabbitmq-management"), ctx.port("rabbitmq-epmd")
        password = ctx.secret("rabbitmq_password")
        env = self.env(ctx)
        ctx.spawn("rabbitmq-epmd", ["epmd", "-port", str(epmd), "-address", ctx.host], ports=[epmd],
                  env=env, match=f"-port {epmd}")
        if not ctx.running_pid("rabbitmq"):
            write_file(base / "rabbitmq.conf", "\n".join([
                f"listeners.tcp.default = {ctx.host}:{amqp}",
                f"management.tcp.ip = {ctx.host}",
                f"management.tcp.port = {management}",
                f"default_user = {USER}",
                f"default_pass = {password}",
                f"default_vhost = {VHOST}",
                "default_permissions.configure = .*", "default_permissions.read = .*",
                "default_permissions.write = .*",
                "loopback_users = none",
                "collect_statistics_interval = 1000",
                "log.console = true", "log.file = false",
            ]) + "\n", 0o600)
            write_file(base / "enabled_plugins", "[rabbitmq_management].\n", 0o644)
        ctx.spawn("rabbitmq", [RABBITMQ_SERVER], ports=[amqp, management], env=env, timeout=90,
                  match=RABBITMQ_SERVER, ready=lambda: _ready(management, password))
        return {"rabbitmq": {"host": ctx.host, "port": amqp, "management_url": f"http://{ctx.host}:{management}",
                             "user": USER, "password": password, "vhost": VHOST}}
