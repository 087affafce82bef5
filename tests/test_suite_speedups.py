"""The suite's own speed-ups (tests/conftest.py) must not change what the app does."""
import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, Map, Rule

from evalsvc.definitions import DefinitionError, load_definition


def _build(rule: str) -> str:
    urls = Map([Rule(rule, defaults={"page": 1}, endpoint="list")]).bind("example.org")
    return urls.build("list")


def test_a_reused_url_builder_writes_each_rules_own_defaults():
    """A rule's builder has its defaults written in by the rule's own converters; two rules
    of one shape whose converters write the same default differently build different URLs."""
    assert _build("/p/<int(fixed_digits=4):page>") == "/p/0001"
    assert _build("/p/<int:page>") == "/p/1"


def test_a_reused_definition_is_the_files_current_one(tmp_path):
    """A definition parsed once is reused only while its file is unchanged; an edited file
    is parsed again, and a broken one fails every time it is loaded."""
    path = tmp_path / "form.toml"
    path.write_text('name = "form"\nkind = "opinion"\nversion = 1\ntitle = "甲"\n'
                    'intro = ""\n[[questions]]\nkey = "q"\ntype = "text"\ntext = "意见"\n',
                    encoding="utf-8")
    assert load_definition(path) is load_definition(path)
    path.write_text(path.read_text(encoding="utf-8").replace("甲", "乙"), encoding="utf-8")
    assert load_definition(path).title == "乙"
    path.write_text("name = ", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(DefinitionError):
            load_definition(path)


class _Upper(BaseConverter):
    regex = "[A-Z]+"


def test_a_reused_rule_parse_gives_each_map_its_own_converters():
    """Two apps' maps parse one rule once between them: each map's rule still matches and
    builds through converters of its own map, and a map whose converter of that name is
    another class parses the rule anew."""
    maps = [Map([Rule("/o/<code>/<int:page>", endpoint="org")]) for _ in range(2)]
    upper = Map([Rule("/o/<code>/<int:page>", endpoint="org")], converters={"default": _Upper})
    for urls in maps:
        rule = next(urls.iter_rules())
        assert {name: conv.map for name, conv in rule._converters.items()} == \
            {"code": urls, "page": urls}
        bound = urls.bind("example.org")
        assert bound.match("/o/xw01/3") == ("org", {"code": "xw01", "page": 3})
        assert bound.build("org", {"code": "xw01", "page": 3}) == "/o/xw01/3"
    assert upper.bind("example.org").match("/o/XW/3") == ("org", {"code": "XW", "page": 3})
    with pytest.raises(NotFound):
        upper.bind("example.org").match("/o/xw01/3")
