"""The campaign's rule "对活动过程中多数群众不满意的，要责令及时补课": the masses decide,
by a majority of their valid answers to 总体评价; each row of issue 12's table is a test."""
import json
import secrets

import pytest

from evalsvc.extensions import db
from evalsvc.models import GroupCode, Stage
from evalsvc.services import ballots, closing, flags, rounds, stages
from evalsvc.services.campaign_rules import set_kind_settings
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.errors import Invalid
from evalsvc.services.results import result_of
from tests.helpers import new_round
from tests.services.test_rules import org, run_round, user


def rows_for(round_, answer: str):
    """A ballot rating 总体评价 ``answer`` and everything else 满意."""
    return [(q.key, answer if q.rated else "satisfied", "")
            for q in rounds.layout(round_) if q.type == "choice"]


def closed_review(votes: dict[GroupCode, list[str]]):
    """A closed 转段测评 where each group cast the given 总体评价 answers."""
    round_, _ = new_round(kind="stage_review", groups={g: len(a) for g, a in votes.items()})
    codes = {}
    for group, code in rounds.card_codes(round_):
        codes.setdefault(group.code, []).append(code)
    for group, answers in votes.items():
        for code, answer in zip(codes[group], answers):
            ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12),
                                     rows_for(round_, answer))
    closing.close_round(None, round_)
    return round_


def verdict_of(round_) -> dict:
    return result_of(round_).verdict


def test_members_content_masses_mostly_dissatisfied_is_make_up(app, demo):
    # (a) members 10 满意; masses 8 不满意 + 2 满意: pooled 60 %, but 80 % of the masses
    round_ = closed_review({GroupCode.MEMBER: ["satisfied"] * 10,
                            GroupCode.MASSES: ["dissatisfied"] * 8 + ["satisfied"] * 2})
    verdict = verdict_of(round_)
    assert round_.passed is False and verdict["make_up"] is True
    assert "群众（群众代表）的有效回答（不含不了解）：不满意 80.0%" in verdict["summary"]
    assert verdict["details"]["rule"] == "majority"
    assert result_of(round_).rate == pytest.approx(0.6)  # the pooled rate is still shown


def test_a_larger_members_group_cannot_outvote_the_masses(app, demo):
    # (b) members 20 满意; masses 13 不满意 + 7 满意
    round_ = closed_review({GroupCode.MEMBER: ["satisfied"] * 20,
                            GroupCode.MASSES: ["dissatisfied"] * 13 + ["satisfied"] * 7})
    assert round_.passed is False
    assert verdict_of(round_)["details"]["basis"]["groups"] == ["masses"]


def test_too_few_valid_answers_proposes_no_verdict(app, demo):
    # (c) 19 不了解 + 1 满意: one valid answer, no verdict, and the summary says why
    round_ = closed_review({GroupCode.MASSES: ["unknown"] * 19 + ["satisfied"]})
    verdict = verdict_of(round_)
    assert round_.passed is None and verdict["decidable"] is False
    assert "有效回答少于 5 个" in verdict["summary"] and "不了解" in verdict["summary"]
    assert verdict["details"]["basis"]["valid"] is None  # a small cell is not shown


def test_a_minority_dissatisfied_is_not_make_up_by_default(app, demo):
    # (d) masses only, 41 % 不满意 (7 of 17), the rest satisfied
    round_ = closed_review({GroupCode.MASSES: ["dissatisfied"] * 7 + ["fairly"] * 10})
    verdict = verdict_of(round_)
    assert round_.passed is True and verdict["make_up"] is False
    assert "不满意未超过半数" in verdict["summary"]


def test_the_floor_when_set_proposes_make_up_and_says_so(app, demo):
    set_kind_settings(None, current_campaign(), "stage_review", {"satisfaction_floor": "60%"})
    round_ = closed_review({GroupCode.MASSES: ["dissatisfied"] * 7 + ["fairly"] * 10})
    verdict = verdict_of(round_)
    assert round_.passed is False and verdict["details"]["rule"] == "floor"
    assert "低于本次活动设定的下限 60%" in verdict["summary"]


def test_a_bad_floor_is_refused_in_chinese_and_not_stored(app, demo):
    with pytest.raises(Invalid) as info:
        set_kind_settings(None, current_campaign(), "stage_review",
                          {"satisfaction_floor": "一半"})
    assert "满意率下限" in str(info.value.errors)
    db.session.rollback()
    assert "satisfaction_floor" not in (current_campaign().kind_settings or {}).get(
        "stage_review", {})


def test_members_only_round_is_decided_by_every_respondent(app, demo):
    round_ = closed_review({GroupCode.MEMBER: ["dissatisfied"] * 6 + ["satisfied"] * 4})
    verdict = verdict_of(round_)
    assert round_.passed is False and "全体参评人员（党员）" in verdict["summary"]


def test_tally_json_names_the_basis(app, demo, runner):
    round_ = closed_review({GroupCode.MEMBER: ["satisfied"] * 10,
                            GroupCode.MASSES: ["dissatisfied"] * 8 + ["satisfied"] * 2})
    db.session.commit()
    out = runner.invoke(args=["round", "tally", str(round_.id), "--json"])
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    assert document["satisfaction_rate"] == pytest.approx(0.6)
    assert document["basis"]["groups"] == ["masses"]
    assert document["basis"]["valid"] == 10
    assert document["basis"]["dissatisfied_share"] == pytest.approx(0.8)


def test_poster_only_verdict_is_advisory_and_cannot_pass_the_gate(app, demo):
    secretary = user("secretary")
    run_round(secretary, "XW0101", "member_review", Stage.REVIEW, positive=6, negative=0)
    round_, _ = new_round(kind="stage_review", groups={}, poster=True)
    for _ in range(8):
        ballots.cast_poster_ballot(round_.id, secrets.token_urlsafe(12),
                                   rows_for(round_, "satisfied"))
    closing.close_round(None, round_)
    verdict = verdict_of(round_)
    assert round_.passed is True and verdict["details"]["advisory"] is True
    assert "仅供参考" in verdict["summary"]
    flags.confirm_passes(user("office"), [round_.id])
    with pytest.raises(Invalid) as info:
        stages.apply(secretary, org("XW0101"))
    assert "仅公开扫码作答" in info.value.errors["stage"]


def test_a_poster_basis_stays_advisory_when_one_card_ballot_is_added(app, demo):
    """One member's card ballot beside a poster does not make the poster's verdict a
    one-person-one-vote verdict: the masses (the poster) still decide alone."""
    secretary = user("secretary")
    run_round(secretary, "XW0101", "member_review", Stage.REVIEW, positive=6, negative=0)
    round_, codes = new_round(kind="stage_review", groups={GroupCode.MEMBER: 1}, poster=True)
    for _ in range(8):
        ballots.cast_poster_ballot(round_.id, secrets.token_urlsafe(12),
                                   rows_for(round_, "satisfied"))
    ballots.cast_card_ballot(round_.id, codes[0], secrets.token_urlsafe(12),
                             rows_for(round_, "satisfied"))
    closing.close_round(None, round_)
    assert verdict_of(round_)["details"]["advisory"] is True
    flags.confirm_passes(user("office"), [round_.id])
    with pytest.raises(Invalid):
        stages.apply(secretary, org("XW0101"))


def test_the_basis_never_gives_a_small_other_group_away_by_subtraction(app, demo, runner):
    """4 members beside 10 masses: the members' tally is suppressed, so the masses' figures
    (which the round's totals minus would turn into the 4 members' answers) are withheld
    from the summary, the stored verdict and the tally JSON; the verdict stands."""
    round_ = closed_review({GroupCode.MEMBER: ["dissatisfied"] * 3 + ["satisfied"],
                            GroupCode.MASSES: ["satisfied"] * 10})
    verdict = verdict_of(round_)
    assert round_.passed is True
    assert "%" not in verdict["summary"] and "比例不公布" in verdict["summary"]
    basis = verdict["details"]["basis"]
    assert basis["suppressed"] is True
    assert basis["valid"] is None and basis["satisfied"] is None
    assert basis["dissatisfied"] is None and basis["dissatisfied_share"] is None
    db.session.commit()
    document = json.loads(runner.invoke(args=["round", "tally", str(round_.id), "--json"]).output)
    assert document["basis"]["valid"] is None and document["basis"]["satisfied"] is None
    assert "100.0%" not in json.dumps(document["verdict"], ensure_ascii=False)


def test_the_results_page_names_the_basis_and_says_why_there_is_no_verdict(client, demo):
    from tests.helpers import login

    undecided = closed_review({GroupCode.MASSES: ["unknown"] * 19 + ["satisfied"]})
    decided = closed_review({GroupCode.MEMBER: ["satisfied"] * 10,
                             GroupCode.MASSES: ["dissatisfied"] * 8 + ["satisfied"] * 2})
    db.session.commit()
    login(client, "office")
    page = client.get(f"/rounds/{undecided.id}").get_data(as_text=True)
    assert "有效回答少于 5 个" in page and "规则不作判定" in page
    page = client.get(f"/rounds/{decided.id}").get_data(as_text=True)
    assert "依据群众（群众代表）" in page and "多数群众不满意" in page
    # the members' view beside the masses' view: per-group rates stay on the page
    assert "<tr><td>党员</td><td>10</td><td>100.0%</td></tr>" in page
    assert "<tr><td>群众代表</td><td>10</td><td>20.0%</td></tr>" in page
