"""Image scan results (trivy-operator VulnerabilityReports) judged per image (pure)."""

from ansible_collections.golive.core.plugins.module_utils.k8s import preflight

DIGEST = "sha256:" + "a" * 64
IMAGE = "registry.lab.example/pager:2026.11.2@" + DIGEST


def report(repository="pager", tag="2026.11.2", digest=DIGEST, server="registry.lab.example", vulns=()):
    return {"metadata": {"name": "replicaset-pager-pager", "namespace": "pager"},
            "report": {"registry": {"server": server}, "artifact": {"repository": repository, "tag": tag,
                                                                    "digest": digest},
                       "updateTimestamp": "2026-12-05T10:00:00Z", "vulnerabilities": list(vulns)}}


def vuln(cve, severity, fixed="3.0.13"):
    return {"vulnerabilityID": cve, "severity": severity, "resource": "openssl", "installedVersion": "3.0.11",
            "fixedVersion": fixed}


def test_a_report_is_matched_by_registry_repository_and_digest_or_tag():
    assert preflight.scan_of(IMAGE, [report()]) == [report()]
    assert preflight.scan_of(IMAGE, [report(digest="sha256:" + "b" * 64)]) == []
    assert preflight.scan_of(IMAGE, [report(server="docker.io")]) == []
    assert preflight.scan_of("registry.lab.example/pager:2026.11.2", [report(digest=None)]) == [report(digest=None)]


def test_findings_at_or_above_the_threshold_are_named_with_their_fixes():
    scanned = [report(vulns=[vuln("CVE-2024-0001", "LOW"), vuln("CVE-2024-0002", "CRITICAL"),
                             vuln("CVE-2024-0003", "HIGH", fixed="")])]
    problems, evidence = preflight.scan_problems(IMAGE, scanned, "HIGH")
    assert problems == ["2 finding(s) at HIGH or above: CVE-2024-0002 (CRITICAL, openssl 3.0.11, fixed in 3.0.13), "
                        "CVE-2024-0003 (HIGH, openssl 3.0.11, no fix yet)"]
    assert [f["id"] for f in evidence["findings"]] == ["CVE-2024-0002", "CVE-2024-0003"]
    assert preflight.scan_problems(IMAGE, scanned, "CRITICAL", ignore=["CVE-2024-0002"])[0] == []


def test_an_image_without_a_report_is_not_scanned():
    assert preflight.scan_problems(IMAGE, [], "HIGH")[0] == ["not scanned (no VulnerabilityReport for this image)"]
    assert preflight.scan_problems(IMAGE, [], "HIGH", require_report=False)[0] == []
