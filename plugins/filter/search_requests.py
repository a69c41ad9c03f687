# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: search_requests
short_description: The golive.core.http_check requests that check a search cluster
version_added: 1.0.0
description:
  - Turns a declared search cluster (Elasticsearch or OpenSearch REST API) into golive.core.http_check
    requests, judged by status and JMESPath on the answers.
  - "C(search-health): C(_cluster/health) at least O(_input.min_status) (green, or yellow too).
    C(search-index-<name>): C(_cat/indices?format=json) lists the index with at least C(min_docs)
    documents. C(search-<name>): the query (C(q), Lucene query-string syntax) answers with at least
    C(min_hits) hits, its p95 under C(max_ms) (100 ms by default, the checklist's target)."
options:
  _input:
    description:
      - "The cluster: C(url), C(min_status), C(headers), C(indices) (C(name), C(min_docs)),"
      - "C(queries) (C(name), C(index), C(q), C(min_hits), C(max_ms), C(count))."
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Search
  golive.core.http_check:
    requests: "{{ {'url': 'https://search.example.com:9200', 'indices': [{'name': 'products', 'min_docs': 1000}],
                   'queries': [{'name': 'shoes', 'index': 'products', 'q': 'shoes'}]} | golive.core.search_requests }}"
"""

RETURN = r"""
_value:
  description: The requests.
  type: list
  elements: dict
"""

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

from ansible.errors import AnsibleFilterError

CHECKLIST = "Search Engine - Elasticsearch configured and indexed"


def search_requests(search):
    if not isinstance(search, dict) or not search.get("url"):
        raise AnsibleFilterError("search_requests needs a dict with the cluster's url")
    url = search["url"].rstrip("/")
    colours = {"green": ["green"], "yellow": ["green", "yellow"], "red": ["green", "yellow", "red"]}
    minimum = search.get("min_status", "green")
    if minimum not in colours:
        raise AnsibleFilterError("min_status must be green, yellow or red, not %r" % minimum)
    headers = dict(search.get("headers") or {})
    requests = [{"name": "search-health", "url": url + "/_cluster/health", "headers": headers,
                 "assertions": ["contains(`%s`, status)" % str(colours[minimum]).replace("'", '"')],
                 "checklist": search.get("checklist", CHECKLIST)}]
    for index in search.get("indices") or []:
        name = index["name"]
        requests.append({"name": "search-index-%s" % name, "url": url + "/_cat/indices/%s?format=json" % quote(name),
                         "headers": headers, "checklist": search.get("checklist", CHECKLIST),
                         "assertions": ["length([?index=='%s' && status=='open' && to_number(\"docs.count\") >= `%d`]) == `1`"
                                        % (name, int(index.get("min_docs", 1)))]})
    for query in search.get("queries") or []:
        requests.append({"name": "search-%s" % query["name"], "headers": headers,
                         "url": url + "/%s/_search?q=%s" % (quote(query["index"]), quote(query["q"])),
                         "assertions": ["hits.total.value >= `%d`" % int(query.get("min_hits", 1))],
                         "count": int(query.get("count", 10)), "max_p95_ms": float(query.get("max_ms", 100)),
                         "checklist": query.get("checklist", "Search Performance - Search response time < 100ms")})
    return requests


class FilterModule(object):
    def filters(self):
        return {"search_requests": search_requests}
