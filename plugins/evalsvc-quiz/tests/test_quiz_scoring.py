"""The quiz's tally maths, verdict and suppression, on counts built by hand."""
import pytest

from evalsvc.definitions import Option, Question
from evalsvc.kinds import get_kind
from evalsvc.kinds.base import Settings
from evalsvc.tally import ALL, TallyInput

from evalsvc_quiz.scoring import answer_key, passing_score, score

A, B, C = "a", "b", "c"
QUESTIONS = (
    Question("q1", "choice", "单选一", (Option(A, "甲", positive=True), Option(B, "乙"))),
    Question("q2", "choice", "单选二", (Option(A, "甲"), Option(B, "乙", positive=True))),
    Question("q3", "multi", "多选", (Option(A, "甲", positive=True), Option(B, "乙"),
                                     Option(C, "丙", positive=True))),
)
MEMBERS, MASSES = 1, 2


def picked(q1=A, q2=B, q3=(A, C)) -> dict:
    """One ballot's answers (right by default)."""
    return {"q1": frozenset({q1}), "q2": frozenset({q2}), "q3": frozenset(q3)}


def tally_input(ballots: list[tuple[int, dict]]) -> TallyInput:
    """What results.compute hands the kind: option counts plus each ballot's answers."""
    counts, per_group = {}, {}
    for group, answers in ballots:
        per_group[group] = per_group.get(group, 0) + 1
        for question, values in answers.items():
            for value in values:
                for g in (group, ALL):
                    counts[(g, question, value)] = counts.get((g, question, value), 0) + 1
    answered = {(g, "q3", ""): n for g, n in per_group.items()}
    return TallyInput(1, "理论测试", "quiz", False,
                      [(MEMBERS, "member", "党员", 20), (MASSES, "masses", "群众代表", 20)],
                      QUESTIONS, counts, per_group, answered, {}, ballots)


def settings(pass_mark=0.6, make_up_below=0.6) -> Settings:
    return Settings(kind={"pass_mark": pass_mark, "make_up_below": make_up_below})


def test_a_multiple_choice_question_counts_only_when_exactly_right():
    key = answer_key(QUESTIONS)
    assert key == {"q1": {A}, "q2": {B}, "q3": {A, C}}
    assert score(picked(), key) == 3
    assert score(picked(q3=(A,)), key) == 2  # half the right options is wrong
    assert score(picked(q3=(A, B, C)), key) == 2  # one too many is wrong
    assert score({}, key) == 0  # a blank ballot scores nothing
    assert passing_score(0.6, 3) == 2 and passing_score(1.0, 3) == 3
    assert passing_score(0.6, 5) == 3  # 3.0000000004 would round up to 4 without care


def test_distribution_average_pass_rate_and_correct_rates():
    # Scores: 3, 3, 2, 1, 0, 2  → average 11/6; pass mark 60 % of 3 → 2 points.
    ballots = [(MEMBERS, picked()), (MEMBERS, picked()), (MEMBERS, picked(q1=B)),
               (MASSES, picked(q1=B, q2=A)), (MASSES, picked(q1=B, q2=A, q3=(B,))),
               (MASSES, picked(q3=(C,)))]
    result = get_kind("quiz").tally(tally_input(ballots), settings(), suppress=False)
    summary, spread = result.tables
    assert summary.rows == [[6, round(11 / 6, 2), 3, 2, pytest.approx(4 / 6)]]
    assert spread.rows == [["0 分", 1, pytest.approx(1 / 6)], ["1 分", 1, pytest.approx(1 / 6)],
                           ["2 分", 2, pytest.approx(2 / 6)], ["3 分", 2, pytest.approx(2 / 6)]]
    assert result.rate == pytest.approx(4 / 6)
    rates = {i.key: i.rate for i in result.items}
    assert rates == {"q1": pytest.approx(3 / 6), "q2": pytest.approx(4 / 6),
                     "q3": pytest.approx(4 / 6)}
    assert result.rate_label == "合格率" and result.item_rate_label == "正确率"


def test_pass_rate_below_the_setting_proposes_make_up():
    ballots = [(MEMBERS, picked())] * 3 + [(MASSES, picked(q1=B, q2=A))] * 3  # half pass
    kind = get_kind("quiz")
    result = kind.tally(tally_input(ballots), settings(), suppress=False)
    assert result.rate == pytest.approx(0.5)
    verdict = kind.propose(result, settings(make_up_below=0.6))
    assert not verdict.passed and verdict.make_up and "合格率 50.0%" in verdict.summary
    assert kind.propose(result, settings(make_up_below=0.5)).passed
    stricter = kind.tally(tally_input(ballots), settings(pass_mark=1.0), suppress=False)
    assert stricter.rate == pytest.approx(0.5)  # the failing half scored 1 of 3


def test_fewer_than_five_ballots_show_nothing_and_small_groups_are_hidden():
    few = [(MEMBERS, picked())] * 4
    hidden = get_kind("quiz").tally(tally_input(few), settings(), suppress=True)
    assert hidden.suppressed and hidden.rate is None and hidden.tables == []
    assert all(i.rate is None for i in hidden.items)
    # 6 members and 2 masses: the masses are hidden, so is the complement; the round shows.
    mixed = [(MEMBERS, picked())] * 6 + [(MASSES, picked(q1=B))] * 2
    result = get_kind("quiz").tally(tally_input(mixed), settings(), suppress=True)
    assert not result.suppressed and result.rate == 1.0
    assert all(g.suppressed and g.rate is None and g.items == [] for g in result.groups)


def test_settings_are_checked_in_chinese():
    pass_mark = next(s for s in get_kind("quiz").settings if s.key == "pass_mark")
    assert pass_mark.parse("70%") == pytest.approx(0.7) and pass_mark.parse("0.8") == 0.8
    with pytest.raises(ValueError, match="及格线.*应在 0% 到 100% 之间"):
        pass_mark.parse("150%")
    with pytest.raises(ValueError, match="须为数字"):
        pass_mark.parse("很高")
