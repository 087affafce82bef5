"""Every kind's submission validator, tested by property: any input is judged, never crashes."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from evalsvc import PROJECT_ROOT
from evalsvc.definitions import load_directory
from evalsvc.kinds import get_kind
from evalsvc.kinds.base import MemberRef, _answer_rows
from evalsvc.kinds.forms import build_form, plain_answers
from evalsvc.control_characters import strip_control

DEFINITIONS = load_directory(PROJECT_ROOT / "forms")
MEMBERS = [MemberRef(1, "张三"), MemberRef(2, "李四")]
LIMIT = 50


def _layout(name):
    definition = DEFINITIONS[name]
    return get_kind(definition.kind), get_kind(definition.kind).layout(definition, MEMBERS)


def _answer(question):
    """A strategy for what a browser (or an attacker) might send for one question."""
    junk = st.text(max_size=12)
    if question.type == "text":
        return st.one_of(st.none(), st.text(max_size=LIMIT + 20))
    values = [o.value for o in question.options]
    if question.type == "multi":
        return st.one_of(st.none(), st.lists(st.one_of(st.sampled_from(values), junk),
                                             max_size=4))
    return st.one_of(st.none(), st.sampled_from(values), junk)


def _expected_ok(layout, sent) -> bool:
    for q in layout:
        value = sent.get(q.key)
        allowed = {o.value for o in q.options}
        if q.type == "text":
            text = strip_control(value or "").strip()  # control characters never count
            if len(text) > (q.max_length or LIMIT) or (q.required and not text):
                return False
        elif q.type == "multi":
            if any(v not in allowed for v in value or ()) or (q.required and not value):
                return False
        elif value is None:
            if q.required:
                return False
        elif value not in allowed:  # "" included: no browser sends it for a choice
            return False
    return True


def _formdata(sent) -> MultiDict:
    pairs = []
    for key, value in sent.items():
        if value is None:
            continue
        pairs.extend((key, v) for v in (value if isinstance(value, list) else [value]))
    return MultiDict(pairs)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_validator_judges_any_input_like_the_rules_say(name):
    kind, layout = _layout(name)

    @settings(max_examples=60, deadline=None)
    @given(st.fixed_dictionaries({q.key: _answer(q) for q in layout}))
    def check(sent):
        submission = kind.validate(layout, _formdata(sent), LIMIT)
        assert submission.ok == _expected_ok(layout, sent), (sent, submission.errors)
        if submission.ok:
            for key, value, text in submission.answers:
                question = next(q for q in layout if q.key == key)
                assert (question.option(value) is not None) if question.type != "text" \
                    else (text and len(text) <= (question.max_length or LIMIT))
        else:
            assert submission.answers == ()
            assert all("「" in message for message in submission.errors.values())

    check()


def test_a_complete_satisfaction_ballot_becomes_answer_rows():
    kind, layout = _layout("satisfaction")
    data = MultiDict({"quality": "satisfied", "organisation": "fairly", "service": "basic",
                      "work": "unknown", "overall": "dissatisfied", "advice": "  多联系群众\x00 "})
    submission = kind.validate(layout, data, 500)
    assert submission.ok
    assert submission.answers == (
        ("quality", "satisfied", ""), ("organisation", "fairly", ""), ("service", "basic", ""),
        ("work", "unknown", ""), ("overall", "dissatisfied", ""), ("advice", "", "多联系群众"))


def test_errors_are_named_in_chinese():
    kind, layout = _layout("satisfaction")
    submission = kind.validate(layout, MultiDict({"quality": "bogus", "advice": "长" * 600}),
                               500)
    assert submission.errors["quality"] == "「提高党员素质」的选项无效，请重新选择"
    assert submission.errors["organisation"] == "请选择「加强基层组织」"
    assert submission.errors["advice"].endswith("不能超过 500 字")


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_the_shortcut_for_plain_ballots_agrees_with_the_ballot_form(name):
    """A plainly valid ballot is accepted without building its form: whatever the shortcut
    accepts, the form accepts with the same rows; what it passes on, the form judges."""
    kind, layout = _layout(name)

    @settings(max_examples=60, deadline=None)
    @given(st.fixed_dictionaries({q.key: _answer(q) for q in layout}))
    def check(sent):
        data = _formdata(sent)
        shortcut = plain_answers(layout, data, LIMIT)
        form = build_form(layout, data, LIMIT)
        if shortcut is not None:
            assert form.validate(), (sent, form.errors)
            assert shortcut == tuple(_answer_rows(layout, form))
        elif _expected_ok(layout, sent):
            # Passed on although valid: only a blank required text or the like; the form
            # still decides, so the respondent sees no difference.
            assert form.validate()

    check()


def test_a_plain_ballot_is_stored_as_the_form_would_store_it():
    kind, layout = _layout("satisfaction")
    data = MultiDict({"quality": "satisfied", "organisation": "fairly", "service": "basic",
                      "work": "unknown", "overall": "dissatisfied", "advice": " 多联系群众\x0b "})
    assert plain_answers(layout, data, 500) is not None
    assert kind.validate(layout, data, 500).answers == tuple(
        _answer_rows(layout, build_form(layout, data, 500)))


@pytest.mark.parametrize("use_shortcut", [True, False])
def test_control_characters_do_not_count_toward_the_length(use_shortcut):
    """49 characters, a \x1f and one more: 50 once the control character is gone, so both
    the shortcut and the form accept it (the property test's rule once counted it)."""
    kind, layout = _layout("opinion")
    data = MultiDict({"comment": "0" * 49 + "\x1f0"})
    if use_shortcut:
        assert plain_answers(layout, data, LIMIT) == (("comment", "", "0" * 50),)
    else:
        form = build_form(layout, data, LIMIT)
        assert form.validate() and form.comment.data == "0" * 50
