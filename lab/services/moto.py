"""S3 and Route53 over HTTP: a moto server with the backups bucket and the lab zone.

moto keeps its state in memory, so the bucket, the hosted zone and its records are
created again whenever the server (re)starts; the hosted zone id changes then.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lab.base import REPO_ROOT, LabContext, Service, ServiceError

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"
BUCKET = "golive-backups"
UPLOADS = "golive-uploads"
ZONE = "lab.example."
RECORDS = [
    ("www.lab.example.", "A", "127.0.0.2"),  # the router's "old site", as in BIND
    ("app.lab.example.", "A", "127.0.0.2"),
    ("api.lab.example.", "CNAME", "app.lab.example."),
]


def moto_binary() -> str:
    for candidate in (Path(sys.prefix) / "bin" / "moto_server",
                      REPO_ROOT / ".venv" / "bin" / "moto_server"):
        if candidate.exists():
            return str(candidate)
    return "moto_server"


def client(kind: str, endpoint_url: str):
    import boto3

    return boto3.client(kind, endpoint_url=endpoint_url, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def lab_client(lab: dict, kind: str = "s3"):
    """A boto3 client for ``kind`` (s3 or route53) from a lab's endpoints (``Lab.up()``, the
    ``lab`` fixture)."""
    import boto3

    eps = lab["s3" if kind == "s3" else "route53"]
    return boto3.client(kind, endpoint_url=eps["endpoint_url"], region_name=eps["region"],
                        aws_access_key_id=eps["access_key"], aws_secret_access_key=eps["secret_key"])


class Moto(Service):
    name = "moto"
    processes = {"moto": ("moto",)}

    def start(self, ctx: LabContext) -> dict:
        port = ctx.port("moto")
        url = f"http://{ctx.host}:{port}"
        pid = ctx.spawn("moto", [moto_binary(), "-H", ctx.host, "-p", str(port)], ports=[port],
                        match="moto_server", timeout=60)
        data = ctx.data(self.name)
        if data.get("seeded_pid") != pid or not data.get("zone_id"):
            try:
                data["zone_id"] = self._seed(url)
            except Exception as exc:  # noqa: BLE001
                raise ServiceError("moto", f"seeding S3/Route53 failed: {exc}",
                                   ctx.log_path("moto")) from exc
            data["seeded_pid"] = pid
            ctx.save()
        common = {"endpoint_url": url, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
                  "region": REGION}
        return {
            "s3": {**common, "bucket": BUCKET, "uploads_bucket": UPLOADS},
            "route53": {**common, "zone": ZONE, "zone_id": data["zone_id"]},
        }

    @staticmethod
    def _seed(url: str) -> str:
        s3 = client("s3", url)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if BUCKET not in existing:
            s3.create_bucket(Bucket=BUCKET)
        abort = {"Rules": [{"ID": "abort-incomplete-uploads", "Status": "Enabled", "Filter": {"Prefix": ""},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]}
        s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=abort)
        # The application's file storage, as production declares it.
        if UPLOADS not in existing:
            s3.create_bucket(Bucket=UPLOADS)
            s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(Bucket=UPLOADS, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            s3.put_public_access_block(Bucket=UPLOADS, PublicAccessBlockConfiguration=dict(
                (k, True) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")))
            s3.put_bucket_lifecycle_configuration(Bucket=UPLOADS, LifecycleConfiguration=abort)
        r53 = client("route53", url)
        zones = r53.list_hosted_zones_by_name(DNSName=ZONE).get("HostedZones", [])
        zone = next((z for z in zones if z["Name"] == ZONE), None)
        if zone is None:
            zone = r53.create_hosted_zone(
                Name=ZONE, CallerReference="golive-lab",
                HostedZoneConfig={"Comment": "golive lab zone", "PrivateZone": False},
            )["HostedZone"]
        zone_id = zone["Id"].split("/")[-1]
        r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": name, "Type": rtype, "TTL": 60, "ResourceRecords": [{"Value": value}]}}
            for name, rtype, value in RECORDS
        ]})
        return zone_id
