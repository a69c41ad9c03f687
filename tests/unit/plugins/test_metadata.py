"""The collection's metadata agrees with itself: one version (galaxy.yml, the newest release of
changelogs/changelog.yaml, no version_added beyond it), every module and role listed as new in
the release that added it, every module with seealso, an example of each state or operation,
and samples of its shared return values."""

import glob
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
STATES = ("state", "mode", "operation", "provider")


def _version(text):
    return tuple(int(part) for part in str(text).split("."))


def _block(source, name):
    match = re.search(r'%s = r"""(.*?)"""' % name, source, re.S)
    return yaml.safe_load(match.group(1)) if match else None


def _modules():
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))):
        with open(path) as handle:
            source = handle.read()
        yield os.path.basename(path)[:-3], _block(source, "DOCUMENTATION"), _block(source, "EXAMPLES") or [], \
            _block(source, "RETURN") or {}


def _changelog():
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as handle:
        return yaml.safe_load(handle)


def test_one_version_everywhere():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = _version(yaml.safe_load(handle)["version"])
    releases = sorted(_version(v) for v in _changelog()["releases"])
    assert releases and releases[-1] <= version
    for name, doc, _examples, _returns in _modules():
        assert _version(doc["version_added"]) <= version, name
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        with open(path) as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        for entry, spec in specs.items():
            assert _version(spec["version_added"]) <= version, (path, entry)


def test_every_module_and_role_is_listed_new_in_its_release():
    releases = _changelog()["releases"]
    for name, doc, _examples, _returns in _modules():
        release = releases.get(str(doc["version_added"]))
        if release is None:  # added after the newest release: listed when that one is made
            continue
        assert name in [m["name"] for m in release.get("modules", [])], name
    roles = set(os.path.basename(os.path.dirname(os.path.dirname(p)))
                for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))
    listed = set()
    for release in releases.values():
        listed.update(r["name"] for r in (release.get("objects") or {}).get("role", []))
    assert roles <= listed or not releases, roles - listed


def test_every_module_has_seealso_an_example_of_each_state_and_samples():
    for name, doc, examples, returns in _modules():
        assert doc.get("seealso"), name
        for option, spec in (doc.get("options") or {}).items():
            if option not in STATES or not spec.get("choices"):
                continue
            used = set()
            for task in examples:
                for key, args in task.items():
                    if key == "golive.core." + name and isinstance(args, dict):
                        used.add(args.get(option, spec.get("default")))
            assert set(spec["choices"]) <= used, (name, option, set(spec["choices"]) - used)
        for shared in ("checks", "summary", "ledger"):
            if shared in returns:
                assert "sample" in returns[shared], (name, shared)
