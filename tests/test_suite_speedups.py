"""The suite's own speed-ups (tests/conftest.py) must not change what the app does."""
from werkzeug.routing import Map, Rule


def _build(rule: str) -> str:
    urls = Map([Rule(rule, defaults={"page": 1}, endpoint="list")]).bind("example.org")
    return urls.build("list")


def test_a_reused_url_builder_writes_each_rules_own_defaults():
    """A rule's builder has its defaults written in by the rule's own converters; two rules
    of one shape whose converters write the same default differently build different URLs."""
    assert _build("/p/<int(fixed_digits=4):page>") == "/p/0001"
    assert _build("/p/<int:page>") == "/p/1"
