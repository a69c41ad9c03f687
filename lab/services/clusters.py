"""More Kubernetes clusters: ``python -m lab up --clusters N`` runs N clusters, one per region.

The first cluster is the lab's own (``k8s`` and ``app``: the home cluster, ``eu-1``, where
a multi-cluster inventory keeps the ledger). Each further one is a lab API server of its
own (``k8s-<region>``: its own CA, tokens, Pod runtime and Pod addresses, the same
scenario) and a router of its own (``router-<region>``) serving that cluster's Ingresses
on two loopback sites of its own, ``127.0.<i>.2`` ("old") and ``127.0.<i>.3`` ("new"), on
the home router's port numbers. Every cluster's pager uses the one PostgreSQL and Redis
(its configuration Secret is written into each), the one BIND serves every region's
names, and the one Prometheus scrapes every cluster's Pods and router with a ``cluster``
label. The count is kept in the state: a plain ``up`` keeps it, ``--clusters 1`` stops
the others.

The endpoints' ``clusters`` section maps each region to ``{name, region, home, k8s, app}``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from lab.base import LabContext, LabError, Service
from lab.services.app import SITES, put_config_secret, start_router
from lab.services.k8s import PROCESS as HOME_PROCESS, start_api_server

NAMES = ("eu-1", "us-1", "ap-1", "eu-2", "us-2", "ap-2", "eu-3", "us-3", "ap-3")
HOME = NAMES[0]
MAX_CLUSTERS = len(NAMES)


def count(ctx: LabContext) -> int:
    """How many clusters this lab runs (1 unless ``up --clusters N`` said otherwise)."""
    return int(ctx.state.get("clusters") or 1)


def set_count(ctx: LabContext, clusters: int) -> None:
    if not 1 <= clusters <= MAX_CLUSTERS:
        raise LabError(f"Failed to start the lab: --clusters must be between 1 and {MAX_CLUSTERS}, not {clusters}")
    ctx.state["clusters"] = clusters
    ctx.save()


def sites_of(index: int) -> dict:
    """The router sites of the ``index``-th cluster (0 is the home cluster's)."""
    return dict(SITES) if index == 0 else {"old": f"127.0.{index}.2", "new": f"127.0.{index}.3"}


def processes_of(name: str) -> tuple[str, str]:
    return f"k8s-{name}", f"router-{name}"


def targets_files(ctx: LabContext) -> list:
    """Every cluster's Pod targets file (Prometheus file_sd), the home cluster's first."""
    return [ctx.state_dir / "k8s" / "file_sd.json"] + [
        ctx.state_dir / f"k8s-{name}" / "file_sd.json" for name in NAMES[1:count(ctx)]]


def add_region_names(dns_endpoint: dict, old_sites: dict) -> None:
    """Each region's own names, ``app.<region>`` and ``www.<region>``, at that region's old
    site unless the zone has them already (a signed RFC 2136 update, as a user would add them):
    a region's cutover moves its own names."""
    import dns.message
    import dns.query
    import dns.rcode
    import dns.tsigkeyring
    import dns.update

    zone = dns_endpoint["zone"]
    keyring = dns.tsigkeyring.from_text({dns_endpoint["tsig_key_name"]: dns_endpoint["tsig_secret"]})
    update = dns.update.Update(zone, keyring=keyring, keyalgorithm=dns_endpoint["tsig_algorithm"])
    for region, site in sorted(old_sites.items()):
        for host in ("app", "www"):
            name = f"{host}.{region}.{zone}"
            answer = dns.query.udp(dns.message.make_query(name, "A"), dns_endpoint["server"],
                                   port=dns_endpoint["port"], timeout=3)
            if answer.rcode() == dns.rcode.NXDOMAIN:
                update.add(f"{host}.{region}", 60, "A", site)
    if update.update:
        response = dns.query.tcp(update, dns_endpoint["server"], port=dns_endpoint["port"], timeout=5)
        if response.rcode() != dns.rcode.NOERROR:
            raise LabError(f"Failed to add the regions' names to {zone}: {dns.rcode.to_text(response.rcode())}")


class Clusters(Service):
    name = "clusters"
    depends = ("postgres", "redis", "bind", "k8s", "app")

    def start(self, ctx: LabContext) -> dict:
        eps = ctx.started
        pg, redis, home_k8s, home_app = eps["postgres"], eps["redis"], eps["k8s"], eps["app"]
        wanted = count(ctx)
        for name in NAMES[wanted:]:
            for process in processes_of(name):
                ctx.stop_process(process)
        admin_token = ctx.secret("pager_admin_token")

        def start_one(index: int) -> dict:
            name = NAMES[index]
            api, router = processes_of(name)
            k8s = start_api_server(ctx, api, api, ctx.data(api))
            put_config_secret(k8s, pg, redis, admin_token)
            metrics = ctx.port(f"router-metrics-{name}")
            app = start_router(ctx, router, router, k8s, sites_of(index), home_app["http_port"],
                               home_app["https_port"], metrics)
            return {"name": name, "region": name, "home": False, "k8s": k8s, "app": app}

        home = {"name": HOME, "region": HOME, "home": True, "k8s": home_k8s,
                "app": dict((k, v) for k, v in home_app.items() if k != "admin_token")}
        clusters = {HOME: home}
        with ThreadPoolExecutor(max_workers=max(1, wanted - 1)) as pool:
            for cluster in pool.map(start_one, range(1, wanted)):
                clusters[cluster["name"]] = cluster
        if wanted > 1:
            add_region_names(eps["dns"], dict((name, sites_of(i)["old"]) for i, name in enumerate(NAMES[:wanted])))
        return {"clusters": clusters}

    def stop(self, ctx: LabContext) -> None:
        for name in reversed(NAMES[1:]):
            for process in reversed(processes_of(name)):
                ctx.stop_process(process)

    def status(self, ctx: LabContext) -> dict:
        procs = [ctx.process_status(p) for name in NAMES[1:count(ctx)] for p in processes_of(name)]
        # One cluster has no process of its own here: it runs when the home cluster's API server does.
        home = ctx.process_status(HOME_PROCESS)["running"]
        return {"running": home and all(p["running"] for p in procs), "processes": procs,
                "clusters": list(NAMES[:count(ctx)])}
