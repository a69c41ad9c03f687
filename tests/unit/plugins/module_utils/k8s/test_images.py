"""Image references judged before a rollout patches anything (pure)."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.k8s import images
from ansible_collections.golive.core.plugins.module_utils.k8s.rollout import template_images, undo_workloads

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("image,parts", [
    ("registry.example.test/shop/web:2026.11.3", ("registry.example.test", "shop/web", "2026.11.3", None)),
    ("registry.example.test:5000/shop/web@" + DIGEST, ("registry.example.test:5000", "shop/web", None, DIGEST)),
    ("nginx", ("docker.io", "nginx", None, None)),
    ("library/nginx:1.27", ("docker.io", "library/nginx", "1.27", None)),
    ("localhost/app:dev", ("localhost", "app", "dev", None)),
])
def test_parse(image, parts):
    found = images.parse(image)
    assert (found["registry"], found["repository"], found["tag"], found["digest"]) == parts


@pytest.mark.parametrize("image,says", [
    ("", "it is empty"),
    ("registry.example.test/shop/web: 2026.11.3", "whitespace"),
    (" registry.example.test/shop/web:1", "whitespace"),
    ("registry.example.test/Shop/Web:1", "not [registry[:port]/]repository[:tag][@digest]"),
    ("Nginx", "lower-case"),
    ("registry.example.test/shop/web@sha256:abc", "not [registry"),
    ("registry.example.test/shop/web@sha256:" + "A" * 64, "64 lower-case hex"),
    ("registry.example.test/shop/web:", "not [registry"),
])
def test_references_that_cannot_work(image, says):
    with pytest.raises(ValueError) as bad:
        images.parse(image)
    assert says in str(bad.value)


POLICY = {"require_digest": True, "allowed_registries": ["registry.example.test"]}


@pytest.mark.parametrize("image,policy,problems", [
    ("registry.example.test/shop/worker", POLICY, ["it is not pinned by digest, which this inventory requires "
                                                   "(image_policy.require_digest)"]),
    ("registry.example.test/shop/worker:1@" + DIGEST, POLICY, []),
    ("quay.io/shop/worker@" + DIGEST, POLICY,
     ["registry quay.io is not allowed (image_policy.allowed_registries: registry.example.test)"]),
    ("registry.example.test/shop/worker", None, []),
])
def test_policy(image, policy, problems):
    assert images.problems(image, policy) == problems


def test_require_valid_names_every_bad_container_and_warns_of_latest():
    with pytest.raises(InvalidInput) as refused:
        images.require_valid({"web": "registry.example.test/shop/web: 2026.11.3", "worker": "", "ok": "r.io/a:1"})
    text = str(refused.value)
    assert "container web: 'registry.example.test/shop/web: 2026.11.3': it contains whitespace" in text
    assert "container worker: '': it is empty" in text and "container ok" not in text
    assert "Nothing was changed" in text
    assert images.require_valid({"web": "registry.example.test/shop/web"}) == [
        "container web: registry.example.test/shop/web names neither a tag nor a digest: it runs whatever latest is "
        "when a Pod starts"]


def test_what_a_template_sets_and_what_an_undo_names():
    assert template_images({"spec": {"containers": [{"name": "web", "image": "a:1"}, {"name": "side"}],
                                     "initContainers": [{"name": "init", "image": ""}]}}) == {"web": "a:1", "init": ""}
    undo = {"workloads": [{"kind": "Deployment", "namespace": "shop", "name": "web", "images": {}}, {"name": "x"}]}
    assert undo_workloads(undo) == [{"kind": "Deployment", "namespace": "shop", "name": "web"}]
