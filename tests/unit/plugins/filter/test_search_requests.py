"""The requests that check a search cluster (pure)."""

import jmespath
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.golive.core.plugins.filter.search_requests import search_requests


def test_health_indices_and_queries_become_requests_judged_by_jmespath():
    requests = search_requests({"url": "https://s:9200/", "min_status": "yellow",
                                "indices": [{"name": "products", "min_docs": 100}],
                                "queries": [{"name": "shoes", "index": "products", "q": "running shoes"}]})
    health, index, query = requests
    assert health["url"] == "https://s:9200/_cluster/health"
    assert jmespath.search(health["assertions"][0], {"status": "yellow"}) is True
    assert jmespath.search(health["assertions"][0], {"status": "red"}) is False
    assert index["url"] == "https://s:9200/_cat/indices/products?format=json"
    listing = [{"index": "products", "status": "open", "docs.count": "150"}]
    assert jmespath.search(index["assertions"][0], listing) is True
    assert jmespath.search(index["assertions"][0], [dict(listing[0], **{"docs.count": "99"})]) is False
    assert query["url"] == "https://s:9200/products/_search?q=running%20shoes"
    assert query["max_p95_ms"] == 100.0 and query["count"] == 10
    assert jmespath.search(query["assertions"][0], {"hits": {"total": {"value": 3}}}) is True


@pytest.mark.parametrize("bad", [{}, {"url": "x", "min_status": "blue"}])
def test_bad_input_is_refused(bad):
    with pytest.raises(AnsibleFilterError):
        search_requests(bad)
