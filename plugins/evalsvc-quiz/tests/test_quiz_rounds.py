"""A quiz round end to end, as a branch secretary, respondents and the office see it.

Runs on SQLite, and on PostgreSQL when EVALSVC_TEST_DATABASE_URL is set.
"""
import csv
import io
import json
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Flag, FlagKind, Organisation, Role, Round, RoundState
from evalsvc.services import rounds, verification
from evalsvc.services.campaign_rules import set_kind_settings
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.users import UserData, create_user

from tests.helpers import close_on_web, login

BRANCH = "XW030101"  # batch 2: studying, so its secretary may hold the study-stage test
RIGHT = {"ideal": "a", "purpose": "b", "principle": "c", "probation": "b",
         "highest_organ": "c", "stages": "a", "line": ["a", "b", "c", "e"],
         "discipline": ["a", "b", "d", "e", "f"]}
# Right on 2 questions of 8 (stages, discipline): below the 60 % pass mark.
WRONG = {**RIGHT, "ideal": "b", "purpose": "a", "principle": "a", "probation": "a",
         "highest_organ": "a", "line": ["d"]}


def _secretary(client) -> int:
    org_id = db.session.scalar(sa.select(Organisation.id).where(Organisation.code == BRANCH))
    create_user(None, UserData("quizsec", Role.SECRETARY, "医院内科支部书记", org_id), "quiz-pass-1")
    login(client, "quizsec", "quiz-pass-1")
    return org_id


def _create_and_open(client, org_id: int) -> Round:
    response = client.post(f"/orgs/{org_id}/rounds/new", data={
        "kind": "quiz", "stage": "study", "definition_name": "", "member_cards": 8})
    assert response.status_code == 302, response.get_data(as_text=True)
    round_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/rounds/{round_id}/open").status_code == 302
    round_ = db.session.get(Round, round_id)
    assert round_.state is RoundState.OPEN and round_.definition_name == "quiz_theory"
    return round_


def _vote(client, code: str, answers: dict) -> None:
    html = client.get(f"/C/{code}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    response = client.post(f"/C/{code}", data={**answers, "nonce": nonce})
    assert "提交成功" in response.get_data(as_text=True)


def test_the_phone_page_never_marks_the_correct_answers(client, demo):
    round_ = _create_and_open(client, _secretary(client))
    code = rounds.card_codes(round_)[0][1]
    html = client.get(f"/C/{code}").get_data(as_text=True)
    assert "党的最高理想和最终目标是" in html and "实现共产主义" in html
    for marker in ("positive", "correct", "答案", "checked", "data-"):
        assert marker not in html, marker
    # Every option is written the same way, the right one included: value and label only.
    options = re.findall(r'<label class="opt">(.*?)</label>', html, re.S)
    assert len(options) == 4 * 5 + 3 + 5 + 6
    shapes = {re.sub(r'(id|name|value)="[^"]*"|<span>.*?</span>', "", o) for o in options}
    assert len(shapes) == 2  # one shape for radio buttons, one for checkboxes


def test_a_quiz_round_closes_into_scores_a_verdict_and_its_own_labels(client, demo):
    org_id = _secretary(client)
    round_ = _create_and_open(client, org_id)
    codes = [code for _group, code in rounds.card_codes(round_)]
    for i, code in enumerate(codes[:6]):
        _vote(client, code, RIGHT if i < 3 else WRONG)
    assert close_on_web(client, round_).status_code == 302
    db.session.refresh(round_)
    assert round_.state is RoundState.CLOSED and round_.passed is False
    assert verification.verify(round_).ok  # the recount from the sealed ballots gives the same scores

    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "合格率 <strong>50.0%</strong>" in page and "满意率" not in page
    assert "正确率" in page and "成绩分布" in page and "平均分" in page
    assert "<td>8 分</td><td>3</td><td>50.0%</td>" in page  # three full marks of six
    assert "<td>2 分</td><td>3</td><td>50.0%</td>" in page
    assert "合格率未达标，需要补课" in page
    login(client, "office")
    client.post(f"/rounds/{round_.id}/verdict/confirm")  # the office confirms the 补课
    make_up = db.session.scalar(sa.select(Flag).where(
        Flag.round_id == round_.id, Flag.kind == FlagKind.MAKE_UP))
    assert make_up is not None and "合格率 50.0%" in make_up.summary

    text = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert ["结果", "全部题目", "综合合格率", "", "50.0%"] in rows
    assert ["成绩分布", "8 分", "人数", "3", ""] in rows

    client.post("/logout")
    login(client, "office")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "合格率 50.0%" in dashboard and "需补课" in dashboard
    from evalsvc.services.today import today

    weekly = client.get(f"/reports/weekly?to={today()}").get_data(as_text=True)
    assert '<th scope="col">合格率</th>' in weekly and "<td>50.0%</td>" in weekly


def test_the_pass_marks_are_campaign_settings(client, demo):
    org_id = _secretary(client)
    set_kind_settings(None, current_campaign(), "quiz",
                      {"pass_mark": "25%", "make_up_below": "50%"})
    round_ = _create_and_open(client, org_id)
    codes = [code for _group, code in rounds.card_codes(round_)]
    for i, code in enumerate(codes[:5]):
        _vote(client, code, RIGHT if i < 2 else WRONG)  # 2 of 8 right now passes
    close_on_web(client, round_)
    db.session.refresh(round_)
    assert round_.passed is True
    assert "合格率 <strong>100.0%</strong>" in client.get(f"/rounds/{round_.id}").get_data(
        as_text=True)


def test_scores_are_never_stored_beside_a_ballot_or_card(client, demo):
    """An insider reading the raw tables finds the answers and the aggregate only: no score
    row per ballot, no ballot id in the stored result."""
    round_ = _create_and_open(client, _secretary(client))
    codes = [code for _group, code in rounds.card_codes(round_)]
    for i, code in enumerate(codes[:5]):
        _vote(client, code, RIGHT if i % 2 else WRONG)
    close_on_web(client, round_)
    raw = db.session.connection()
    def picks(answers):
        return sum(len(v) if isinstance(v, list) else 1 for v in answers.values())

    stored_answers = [answer for (packed,) in raw.execute(
        sa.text("SELECT answers FROM ballots WHERE round_id = :r"), {"r": round_.id})
        for answer in json.loads(packed)]
    assert len(stored_answers) == 2 * picks(RIGHT) + 3 * picks(WRONG)
    assert all(len(answer) == 3 for answer in stored_answers)  # question, value, text
    assert {question for question, _value, _text in stored_answers} == set(RIGHT)
    stored = raw.execute(sa.text("SELECT result_json FROM rounds WHERE id = :r"),
                         {"r": round_.id}).scalar()
    ballot_ids = [row[0] for row in raw.execute(
        sa.text("SELECT id FROM ballots WHERE round_id = :r"), {"r": round_.id})]
    assert len(ballot_ids) == 5 and not any(b in stored for b in ballot_ids)
    assert "成绩分布" in stored


def test_changing_the_settings_after_close_does_not_break_the_seal(client, runner, demo):
    """The office may change the pass marks for later rounds; a round already sealed keeps
    the settings it was decided with: its page, its verdict and ``evalsvc verify`` stay."""
    org_id = _secretary(client)
    round_ = _create_and_open(client, org_id)
    for i, code in enumerate([code for _group, code in rounds.card_codes(round_)][:6]):
        _vote(client, code, RIGHT if i < 3 else WRONG)
    close_on_web(client, round_)
    db.session.refresh(round_)
    assert round_.passed is False
    set_kind_settings(None, current_campaign(), "quiz",
                      {"pass_mark": "25%", "make_up_below": "50%"})
    db.session.commit()
    result = runner.invoke(args=["verify", str(round_.id)])
    assert result.exit_code == 0, result.output
    db.session.refresh(round_)
    assert round_.passed is False
    assert "合格率 <strong>50.0%</strong>" in client.get(f"/rounds/{round_.id}").get_data(
        as_text=True)
