"""The seeds' other systems against the lab: RabbitMQ (a real broker), S3 on moto, the SMTP
sink, and the stand-ins for search, the CDN edge, provider sandboxes, the flag service and the
status page. Each check passes on the lab as it is and fails, with evidence, when the lab
breaks the thing it checks; credentials and API keys appear nowhere, even at -vvv."""

import base64
import json
import threading
import time
import urllib.request
import uuid

import pytest

from lab.services.sinks import messages
from helpers import REPO, run_playbook, run_tasks as run

pytestmark = pytest.mark.xdist_group("standins")


def mq_args(lab, **extra):
    mq = lab["rabbitmq"]
    return dict({"url": mq["management_url"], "username": mq["user"], "password": mq["password"],
                 "vhost": mq["vhost"]}, **extra)


def mq_api(lab, method, path, body=None):
    mq = lab["rabbitmq"]
    request = urllib.request.Request(mq["management_url"] + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", "Authorization": "Basic " +
                                              base64.b64encode(("%s:%s" % (mq["user"], mq["password"])).encode()).decode()})
    with urllib.request.urlopen(request, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


class Consumer(threading.Thread):
    """An AMQP consumer (pika) on one queue of the lab broker, until stopped."""

    def __init__(self, lab, queue):
        super().__init__(daemon=True)
        import pika
        mq = lab["rabbitmq"]
        self.connection = pika.BlockingConnection(pika.ConnectionParameters(
            host=mq["host"], port=mq["port"], virtual_host=mq["vhost"],
            credentials=pika.PlainCredentials(mq["user"], mq["password"])))
        self.channel = self.connection.channel()
        self.channel.queue_declare(queue=queue)
        self.channel.basic_consume(queue=queue, on_message_callback=lambda ch, m, p, b: ch.basic_ack(m.delivery_tag))
        self.stopping = False

    def run(self):
        while not self.stopping:
            self.connection.process_data_events(time_limit=0.2)

    def stop(self):
        self.stopping = True
        self.join(5)
        self.connection.close()


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def by_id(result):
    return dict((c["id"], c) for c in result["checks"])


def test_rabbitmq_queues_consumers_depth_and_a_round_trip(lab, tmp_path):
    served, idle, full = ("orders-%s" % uuid.uuid4().hex[:6], "emails-%s" % uuid.uuid4().hex[:6],
                          "exports-%s" % uuid.uuid4().hex[:6])
    consumer = Consumer(lab, served)
    consumer.start()
    vhost = lab["rabbitmq"]["vhost"]
    try:
        for name in (idle, full):
            mq_api(lab, "PUT", "/api/queues/%s/%s" % (vhost, name), {"durable": False, "auto_delete": False})
        for n in range(30):
            mq_api(lab, "POST", "/api/exchanges/%s/amq.default/publish" % vhost,
                   {"properties": {}, "routing_key": full, "payload": "job %d" % n, "payload_encoding": "string"})
        # The API's counters follow the broker's statistics, refreshed every second in the lab.
        wait_for(lambda: mq_api(lab, "GET", "/api/queues/%s/%s" % (vhost, full)).get("messages_ready") == 30
                 and mq_api(lab, "GET", "/api/queues/%s/%s" % (vhost, served)).get("consumers") == 1)
        good = mq_args(lab, queues=[{"name": served, "min_consumers": 1, "max_depth": 10}])
        bad = mq_args(lab, queues=[{"name": served}, {"name": idle}, {"name": full, "min_consumers": 0, "max_depth": 10},
                                   {"name": "missing-queue"}], max_depth=20, fail_on_failed_checks=False)
        proc, out = run(tmp_path, {"name": "Good", "golive.core.mq_health": good},
                        {"name": "Check mode", "golive.core.mq_health": good, "check_mode": True},
                        {"name": "Broken", "golive.core.mq_health": bad}, extra=["-vvv"])
        assert proc.returncode == 0, proc.stdout[-3000:]
        ok, checked, broken = (by_id(r) for r in out)
        assert all(c["status"] == "pass" for c in ok.values()), ok
        assert ok["mq.round_trip"]["evidence"]["received"] is True
        assert ok["mq.connection"]["evidence"]["version"].startswith("3.")
        assert checked["mq.round_trip"]["status"] == "skip"
        assert broken["mq.queue.%s" % served]["status"] == "pass"
        assert broken["mq.queue.%s" % idle]["evidence"]["problems"] == ["0 consumers, at least 1 wanted"]
        assert broken["mq.queue.%s" % full]["evidence"]["problems"] == ["30 messages ready, at most 10 allowed"]
        assert broken["mq.queue.missing-queue"]["evidence"]["problems"] == ["queue missing-queue does not exist"]
        assert broken["mq.depth"]["status"] == "fail" and broken["mq.depth"]["evidence"]["over_depth"] == {full: 30}
        names = [q["name"] for q in mq_api(lab, "GET", "/api/queues/%s" % vhost)]
        assert not [n for n in names if n.startswith("golive.canary.")], "the canary queue is deleted"
        assert lab["rabbitmq"]["password"] not in proc.stdout + proc.stderr
    finally:
        consumer.stop()
        for name in (served, idle, full):
            mq_api(lab, "DELETE", "/api/queues/%s/%s" % (vhost, name))


def test_rabbitmq_wrong_password_or_no_broker_fail_clearly(lab, tmp_path):
    wrong = "wrong-" + uuid.uuid4().hex
    proc, _ = run(tmp_path, {"name": "Wrong password", "golive.core.mq_health": mq_args(lab, password=wrong)},
                  extra=["-vvv"])
    assert proc.returncode != 0
    assert "Failed to authenticate to the RabbitMQ management API at %s: user golive was refused (401)" \
        % lab["rabbitmq"]["management_url"] in proc.stdout
    assert wrong not in proc.stdout + proc.stderr
    proc, _ = run(tmp_path, {"name": "No broker", "golive.core.mq_health": mq_args(lab, url="http://127.0.0.1:9")})
    assert proc.returncode != 0 and "Failed to reach http://127.0.0.1:9/api/overview" in proc.stdout


def s3_args(lab, **extra):
    s3 = lab["s3"]
    return dict({"aws_endpoint_url": s3["endpoint_url"], "aws_access_key": s3["access_key"],
                 "aws_secret_key": s3["secret_key"], "aws_region": s3["region"]}, **extra)


def test_object_storage_posture_and_round_trip(lab, tmp_path):
    s3 = lab["s3"]
    uploads = s3_args(lab, bucket=s3["uploads_bucket"], versioning=True, encryption="AES256", public_access_block=True,
                      abort_multipart_days=7)
    # The backups bucket has the lifecycle rule but no versioning, encryption or public-access block.
    backups = s3_args(lab, bucket=s3["bucket"], versioning=True, encryption="any", public_access_block=True,
                      abort_multipart_days=1, fail_on_failed_checks=False)
    proc, out = run(tmp_path, {"name": "Uploads", "golive.core.s3_health": uploads},
                    {"name": "Uploads, check mode", "golive.core.s3_health": uploads, "check_mode": True},
                    {"name": "Backups", "golive.core.s3_health": backups},
                    {"name": "Missing", "golive.core.s3_health": s3_args(lab, bucket="no-such-bucket-x",
                                                                          fail_on_failed_checks=False)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    good, checked, bad, missing = (by_id(r) for r in out)
    assert all(c["status"] == "pass" for c in good.values()) and len(good) == 6, good
    assert good["s3.round_trip"]["evidence"]["same"] and good["s3.round_trip"]["evidence"]["deleted"]
    assert checked["s3.round_trip"]["status"] == "skip"
    assert bad["s3.versioning"]["status"] == "fail" and bad["s3.versioning"]["evidence"]["versioning"] == "Disabled"
    assert bad["s3.encryption"]["status"] == "fail" and bad["s3.public_access_block"]["status"] == "fail"
    assert bad["s3.lifecycle.abort_multipart"]["status"] == "fail"  # 7 days there, 1 wanted
    assert bad["s3.lifecycle.abort_multipart"]["evidence"]["rules"][0]["abort_multipart_days"] == 7
    assert list(missing) == ["s3.bucket"] and missing["s3.bucket"]["status"] == "fail"
    import boto3
    client = boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id=s3["access_key"],
                          aws_secret_access_key=s3["secret_key"], region_name=s3["region"])
    left = client.list_object_versions(Bucket=s3["uploads_bucket"], Prefix="golive-canary/")
    assert not left.get("Versions") and not left.get("DeleteMarkers"), "no canary version is left behind"


def test_email_through_smtp_and_a_refused_login(lab, tmp_path):
    n = lab["notify"]
    args = {"host": n["smtp_host"], "port": n["smtp_port"], "username": n["smtp_user"], "password": n["smtp_password"],
            "ca_file": n["ca_file"], "sender": "golive@lab.example", "send_to": ["smtp-check@lab.example"],
            "subject": "smtp check %s" % uuid.uuid4().hex[:6]}
    wrong = "wrong-" + uuid.uuid4().hex
    proc, out = run(tmp_path, {"name": "Email", "golive.core.smtp_check": args}, extra=["-vvv"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    checks = by_id(out[0])
    assert [c for c in checks] == ["smtp.connect", "smtp.starttls", "smtp.auth", "smtp.delivery"]
    assert all(c["status"] == "pass" for c in checks.values())
    assert checks["smtp.starttls"]["evidence"]["tls"].startswith("TLSv1")
    subject = checks["smtp.delivery"]["evidence"]["subject"]
    mail = [m for m in messages(n["sink_url"])["mail"] if m["subject"] == subject]
    assert len(mail) == 1 and mail[0]["tls"] and mail[0]["to"] == ["smtp-check@lab.example"]  # read back there
    assert n["smtp_password"] not in proc.stdout + proc.stderr
    proc, _ = run(tmp_path, {"name": "Refused", "golive.core.smtp_check": dict(args, password=wrong)}, extra=["-vvv"])
    assert proc.returncode != 0
    assert "Failed to log in to the SMTP server %s:%s: user golive-notify was refused (535)" \
        % (n["smtp_host"], n["smtp_port"]) in proc.stdout
    assert wrong not in proc.stdout + proc.stderr


def standins(url, path, body=None):
    request = urllib.request.Request(url + path, method="POST", data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def private_standins(lab, tmp_path):
    """A stand-ins process of this test's own (same code, its own port and state), and the
    lab's endpoints pointing at it: breaking it cannot meet another test's go-live."""
    import socket
    import subprocess
    import sys
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token_file = tmp_path / "sandbox-token"
    token_file.write_text(lab["standins"]["sandbox_token"] + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "lab.standins", "--port", str(port), "--token-file", str(token_file)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port

    def up():
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return True
        except OSError:
            return False
    wait_for(up, timeout=15)
    mine = dict(lab["standins"], url=url, search_url=url + "/search", cdn_url=url + "/cdn",
                sandbox_url=url + "/sandbox", flags_url=url + "/flags", status_url=url + "/status/api/v2/status.json")
    yield dict(lab, standins=mine)
    proc.terminate()
    proc.wait(10)


BREAKS = [
    ("search red", {"search_status": "red"}, "third_parties", "http.search-health"),
    ("wrong cache header", {"cdn_cache_control": "no-store"}, "third_parties", "http.cdn-app-css"),
    ("sandbox answering 500", {"sandbox_status": {"click": 500}}, "third_parties", "http.sandbox-click"),
    ("flag with the wrong value", {"flags": {"new-checkout": {"enabled": True, "rollout": 50},
                                             "dark-mode": {"enabled": False, "rollout": 0}}}, "third_parties",
     "http.feature-flags"),
    ("status page showing an outage", {"status_indicator": "major"}, "status_page", "http.status-page"),
]


def integrations_play(tmp_path, *extra, tasks_from="main"):
    """The readiness_integrations role (or one entry point) as the lab inventory declares it;
    the failed task's result is kept."""
    out = tmp_path / "checks.json"
    keep = {"dest": str(out), "mode": "0600", "content": "{{ {'failed': ansible_failed_result | default(none)} | to_json }}"}
    play = [{"name": "Integrations", "hosts": "golive", "gather_facts": False,
             "module_defaults": {"group/golive.core.s3": "{{ golive_s3 }}"},
             "tasks": [{"name": "Run", "block": [
                 {"name": "Checks", "ansible.builtin.include_role": {"name": "golive.core.readiness_integrations",
                                                                   "tasks_from": tasks_from}},
                 {"name": "Keep", "ansible.builtin.copy": keep}],
                 "rescue": [{"name": "Keep the failure", "ansible.builtin.copy": keep},
                            {"name": "Fail", "ansible.builtin.fail": {"msg": "a check failed"}}]}]}]
    path = tmp_path / "integrations.yml"
    path.write_text(json.dumps(play))
    proc = run_playbook(str(path), *extra)
    return proc, json.loads(out.read_text())


def test_the_role_passes_on_the_lab_and_names_what_each_break_breaks(lab, private_standins, tmp_path):
    secrets = [lab["rabbitmq"]["password"], lab["standins"]["sandbox_token"], lab["notify"]["smtp_password"],
               lab["s3"]["secret_key"]]
    proc, _ = integrations_play(tmp_path, "-vvv")
    assert proc.returncode == 0, proc.stdout[-5000:]
    for check_id in ("mq.round_trip", "s3.lifecycle.abort_multipart", "smtp.delivery", "http.search-health",
                     "http.search-index-products", "http.search-products-shoes", "http.cdn-app-css",
                     "http.sandbox-payme", "http.sandbox-eskiz", "http.feature-flags", "http.status-page"):
        assert '"id": "%s"' % check_id in proc.stdout, check_id
    for secret in secrets:
        assert secret not in proc.stdout + proc.stderr
    # The breaks happen in this test's own stand-ins, which the role is pointed at.
    url = private_standins["standins"]["url"]
    pointed = json.dumps({"golive_lab": private_standins})
    for why, change, entry, check_id in BREAKS:
        standins(url, "/_lab/break", change)
        try:
            proc, kept = integrations_play(tmp_path, "-e", pointed, tasks_from=entry)
        finally:
            standins(url, "/_lab/reset")
        assert proc.returncode != 0, why
        failed = [c for c in kept["failed"]["checks"] if c["status"] == "fail"]
        assert [c["id"] for c in failed] == [check_id], (why, failed)
        assert failed[0]["evidence"]["failures"][0]["reason"], why
        assert url in failed[0]["evidence"]["url"] or url in json.dumps(failed[0]["evidence"]), why
        assert lab["standins"]["sandbox_token"] not in proc.stdout + proc.stderr


def test_the_report_maps_every_new_check_to_its_checklist_row():
    import sys
    sys.path.insert(0, str(REPO / ".cache" / "collections"))
    from ansible_collections.golive.core.plugins.plugin_utils import checklist as cl
    rows = cl.parse((REPO / "docs" / "checklist.md").read_text())
    match = cl.matcher(rows)
    for check_id, quoted in (("mq.round_trip", "Message Queue - RabbitMQ/Kafka configured for async processing"),
                             ("s3.versioning", "File Storage - AWS S3/MinIO configured for file uploads"),
                             ("smtp.auth", "Email Service - SMTP/SendGrid configured for notifications"),
                             ("http.search-health", "Search Engine - Elasticsearch configured and indexed"),
                             ("http.status-page", "Status Page - Public status page configured")):
        keys = match({"id": check_id, "checklist": quoted})
        assert keys, check_id
        assert any(r["key"] in keys and r["how"] == "automated" for r in rows), check_id
