"""Where a request is sent: a fixed address, or a name asked of the DNS server instead of
the URL's host (a region's own name for the global one, as curl's --connect-to)."""

from ansible_collections.golive.core.plugins.module_utils.http.transport import Resolver


class Asking(Resolver):
    """A resolver whose DNS server is a table (what it was asked is kept)."""

    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table = table
        self.asked = []

    def _ask(self, host):
        self.asked.append(host)
        return self.table[host]


def test_a_fixed_name_is_asked_of_the_dns_server_once_and_an_address_is_used_as_it_is():
    resolver = Asking({"app.us-1.lab.example": "127.0.1.3", "www.lab.example": "127.0.0.3"}, dns_server="127.0.0.1",
                      fixed={"app.lab.example": "app.us-1.lab.example", "api.lab.example": "127.0.0.9",
                             "v6.lab.example": "::1"})
    assert resolver.address("app.lab.example") == "127.0.1.3"
    assert resolver.address("app.lab.example") == "127.0.1.3"
    assert resolver.address("api.lab.example") == "127.0.0.9"
    assert resolver.address("v6.lab.example") == "::1"
    assert resolver.address("www.lab.example") == "127.0.0.3"
    assert resolver.asked == ["app.us-1.lab.example", "www.lab.example"]


def test_without_a_dns_server_a_fixed_value_is_used_as_it_is():
    resolver = Asking({}, fixed={"app.lab.example": "app.us-1.lab.example"})
    assert resolver.address("app.lab.example") == "app.us-1.lab.example" and resolver.asked == []
