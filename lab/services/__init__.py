"""The registry of lab services, in start order (independent ones start in parallel).

To add a service: write ``lab/services/<name>.py`` with a :class:`lab.base.Service`
subclass and append an instance here.
"""

from lab.services.app import App
from lab.services.bind import Bind
from lab.services.clusters import Clusters
from lab.services.k8s import K8s
from lab.services.monitoring import Monitoring
from lab.services.moto import Moto
from lab.services.postgres import Postgres
from lab.services.prometheus import Prometheus
from lab.services.rabbitmq import RabbitMQ
from lab.services.redis import Redis
from lab.services.sinks import Sinks
from lab.services.standins import Standins

SERVICES = [
    Postgres(),
    Redis(),
    Moto(),
    Bind(),
    K8s(),
    App(),
    Clusters(),
    Prometheus(),
    Monitoring(),
    Sinks(),
    RabbitMQ(),
    Standins(),
]
