"""Questionnaire definitions: every file in forms/ loads; a bad one names file and field."""
from pathlib import Path

import pytest

from evalsvc import PROJECT_ROOT, create_app
from evalsvc.definitions import DefinitionError, layout_from_data, layout_to_data, \
    load_directory
from evalsvc.kinds import registry

FORMS = PROJECT_ROOT / "forms"
GOOD = '''
name = "mini"
kind = "satisfaction"
version = 1
title = "测评"
[[scales]]
key = "s"
options = [{ value = "yes", label = "满意", positive = true }, { value = "no", label = "不满意" }]
[[questions]]
key = "q1"
type = "choice"
scale = "s"
text = "总体评价"
'''


def test_standard_definitions_load_with_their_chinese_titles():
    found = load_directory(FORMS, set(registry()))
    titles = {d.title for d in found.values()}
    for title in ("征求意见表", "民主评议党员测评票", "整改满意度测评表"):
        assert title in titles
    stage_reviews = {d.stage for d in found.values() if d.kind == "stage_review"}
    assert stage_reviews == {"study", "review", "rectify"}
    satisfaction = found["satisfaction"]
    assert [q.text for q in satisfaction.questions[:4]] == [
        "提高党员素质", "加强基层组织", "服务人民群众", "促进各项工作"]
    scale = satisfaction.questions[0].options
    assert [o.label for o in scale] == ["满意", "比较满意", "基本满意", "不满意", "不了解"]
    assert [o.valid for o in scale] == [True, True, True, True, False]


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("change, field", [
    (lambda s: s.replace('kind = "satisfaction"', 'kind = "nonsense"'), "kind"),
    (lambda s: s.replace('type = "choice"', 'type = "slider"'), "questions[0].type"),
    (lambda s: s.replace('scale = "s"\ntext', 'scale = "missing"\ntext'), "questions[0].scale"),
    (lambda s: s.replace('version = 1', 'version = "one"'), "version"),
    (lambda s: s.replace('title = "测评"', 'title = ""'), "title"),
    (lambda s: s.replace('text = "总体评价"', ''), "questions[0].text"),
    (lambda s: s + '[[questions]]\nkey = "q1"\ntype = "text"\ntext = "重复"\n', "questions"),
    (lambda s: s.replace("[[questions]]", "[[questions]"), "file"),
])
def test_bad_definition_names_the_file_and_field(tmp_path, change, field):
    directory = _write(tmp_path, change(GOOD))
    with pytest.raises(DefinitionError) as info:
        load_directory(directory, set(registry()))
    assert info.value.source == "bad.toml"
    assert info.value.field == field
    assert str(info.value).startswith(f"bad.toml: {field}:")


def test_app_refuses_to_start_with_a_bad_definition(tmp_path):
    directory = _write(tmp_path, GOOD.replace('type = "choice"', 'type = "slider"'))
    with pytest.raises(DefinitionError, match="bad.toml: questions\\[0\\].type"):
        create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://", "FORMS_DIR": str(directory)},
                   instance_path=str(tmp_path / "inst"))


def test_county_can_reword_without_code(tmp_path):
    _write(tmp_path, GOOD)
    app = create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://",
                      "FORMS_DIR": str(tmp_path)}, instance_path=str(tmp_path / "inst"))
    with app.app_context():
        from evalsvc.questionnaires import built_in as definitions

        # (The files alone: this app's database is not migrated.)
        # The county's directory replaces the built-in forms; a plugin kind's own
        # definitions (shipped in its package) still load beside it.
        from_forms_dir = [d.name for d in definitions().values() if d.source == "bad.toml"]
        assert from_forms_dir == ["mini"]
        assert all(d.kind not in {"satisfaction", "member_review", "opinion", "stage_review"}
                   for d in definitions().values() if d.name != "mini")


def test_a_county_file_rewords_a_plugin_kinds_definition(tmp_path):
    """FORMS_DIR wins over a kind's own directory for a definition of the same name."""
    from evalsvc.kinds import register, unregister
    from evalsvc.kinds.base import Kind

    shipped, county = tmp_path / "shipped", tmp_path / "county"
    shipped.mkdir()
    county.mkdir()
    plugin_form = GOOD.replace('kind = "satisfaction"', 'kind = "plugged"')
    (shipped / "mini.toml").write_text(plugin_form, encoding="utf-8")
    (county / "mini.toml").write_text(plugin_form.replace("title = ", 'title = "县里改写" #'),
                                      encoding="utf-8")
    kind = type("Plugged", (Kind,), {"name": "plugged", "label": "插件", "definitions_dir": shipped})()
    register(kind)
    try:
        app = create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://",
                          "FORMS_DIR": str(county)}, instance_path=str(tmp_path / "inst"))
        with app.app_context():
            from evalsvc.questionnaires import built_in

            assert built_in()["mini"].title == "县里改写"
    finally:
        unregister("plugged")


def test_layout_survives_a_round_trip_through_plain_data():
    member_review = load_directory(FORMS)["member_review"]
    from evalsvc.kinds import get_kind
    from evalsvc.kinds.base import MemberRef

    layout = get_kind("member_review").layout(member_review, [MemberRef(7, "张三")])
    assert layout_from_data(layout_to_data(layout)) == layout
    assert layout[0].key == "grade_m7" and layout[0].text == "张三"
