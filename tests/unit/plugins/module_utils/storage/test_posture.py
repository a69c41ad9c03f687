"""A bucket's posture against what is declared (pure evaluation)."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.storage import posture

GOOD = {"bucket": "b", "exists": True, "versioning": "Enabled", "encryption": ["aws:kms"],
        "public_access_block": dict((k, True) for k in posture.BLOCKS),
        "lifecycle": [{"id": "abort", "enabled": True, "prefix": "", "abort_multipart_days": 7}],
        "round_trip": {"key": "k", "same": True, "deleted": True, "ms": 3.0}}
WANT = {"versioning": True, "encryption": "aws:kms", "public_access_block": True, "abort_multipart_days": 7,
        "prefix": "golive-canary/"}


def statuses(observed, want):
    return dict((c["id"], c["status"]) for c in posture.evaluate(observed, want))


def test_a_bucket_as_declared_passes_every_check():
    assert set(statuses(GOOD, WANT).values()) == {"pass"} and len(statuses(GOOD, WANT)) == 6


def test_each_difference_fails_its_own_check():
    bad = dict(GOOD, versioning="Suspended", encryption=["AES256"],
               public_access_block=dict(GOOD["public_access_block"], BlockPublicPolicy=False),
               lifecycle=[{"id": "abort", "enabled": True, "prefix": "uploads/", "abort_multipart_days": 7}])
    got = statuses(bad, WANT)
    assert got["s3.versioning"] == got["s3.encryption"] == got["s3.public_access_block"] == "fail"
    assert got["s3.lifecycle.abort_multipart"] == "fail"  # the rule does not cover golive-canary/
    assert statuses(dict(GOOD, encryption=["AES256"]), dict(WANT, encryption="any"))["s3.encryption"] == "pass"


def test_only_what_is_declared_is_checked_and_a_missing_bucket_stops_there():
    assert list(statuses(GOOD, {"prefix": ""})) == ["s3.bucket", "s3.round_trip"]
    assert statuses({"bucket": "b", "exists": False}, WANT) == {"s3.bucket": "fail"}
    assert statuses(dict(GOOD, round_trip=None), {})["s3.round_trip"] == "skip"


@pytest.mark.parametrize("bucket", ["ab", "a" * 64, "Shop-Files", "shop files", "-shop", "shop..files", "10.0.0.1"])
def test_a_bucket_name_s3_refuses_is_refused_first(bucket):
    from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
    with pytest.raises(InvalidInput) as refused:
        posture.check_bucket_name(bucket)
    assert "an S3 bucket name is 3 to 63 lower-case letters" in str(refused.value)
    posture.check_bucket_name("shop-files.eu-1")
