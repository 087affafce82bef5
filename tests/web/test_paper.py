"""The paper pages: print the sheets, key them in twice, see disputes and the channels."""
import json
import secrets

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Role, Round
from evalsvc.services import ballots, closing, codes as card_codes, users
from tests.helpers import login
from tests.helpers import SATISFACTION, counts, new_round

PASSWORD = "long-enough-pass-1"


def _second_office(app):
    users.create_user(None, users.UserData("office2", Role.OFFICE, "录入员二"), PASSWORD)


def _answers(code: str, **changed) -> dict:
    return {"code": code, "answers": "1", **SATISFACTION, **changed}


def _stored(round_id: int) -> tuple[int, int]:
    db.session.commit()
    return counts(round_id)


def _audit(action: str) -> list[AuditEntry]:
    db.session.commit()
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


def test_office_prints_the_paper_sheets_audited_and_listed(client, demo):
    round_, codes = new_round()
    login(client, "office")
    assert "打印纸质测评票" in client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    response = client.get(f"/rounds/{round_.id}/paper.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    (entry,) = _audit("round.print_paper")
    assert json.loads(entry.detail)["cards"] == len(codes)
    assert "纸质测评票（PDF）" in client.get(f"/rounds/{round_.id}").get_data(as_text=True)


def test_a_sheet_keyed_by_two_staff_counts_once(client, app, demo):
    _second_office(app)
    round_, codes = new_round()
    scanned = card_codes.card_url("http://evalsvc.test", codes[0])  # what a scanner types
    login(client, "office")
    step1 = client.post(f"/rounds/{round_.id}/paper", data={"code": scanned})
    page = step1.get_data(as_text=True)
    assert step1.status_code == 200 and 'name="answers"' in page and 'name="overall"' in page
    first = client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[0]))
    assert "已保存第一次录入" in first.get_data(as_text=True)
    assert _stored(round_.id) == (0, 0)
    again = client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[0]))
    assert again.status_code == 409 and "另一位工作人员" in again.get_data(as_text=True)
    client.post("/logout")
    login(client, "office2", PASSWORD)
    second = client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[0]))
    assert "已计入结果" in second.get_data(as_text=True)
    assert _stored(round_.id) == (1, 1)
    for entry in _audit("round.paper_entry"):  # who keyed, never which card or answers
        assert entry.detail == "{}"


def test_missing_answers_are_named_and_nothing_is_held(client, demo):
    round_, codes = new_round()
    login(client, "office")
    response = client.post(f"/rounds/{round_.id}/paper",
                           data={"code": codes[0], "answers": "1"})
    assert response.status_code == 422 and "请选择" in response.get_data(as_text=True)
    db.session.commit()
    assert db.session.execute(sa.text("SELECT count(*) FROM paper_entries")).scalar() == 0


def test_disagreeing_key_ins_are_listed_for_a_third_look(client, app, demo):
    _second_office(app)
    round_, codes = new_round()
    login(client, "office")
    client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[0]))
    client.post("/logout")
    login(client, "office2", PASSWORD)
    response = client.post(f"/rounds/{round_.id}/paper",
                           data=_answers(codes[0], overall="dissatisfied"))
    assert "不一致" in response.get_data(as_text=True)
    listing = client.get(f"/rounds/{round_.id}/paper/disputed").get_data(as_text=True)
    assert codes[0][-4:] in listing and "总体评价" in listing
    assert codes[0] not in listing
    assert _stored(round_.id) == (0, 0)


def test_bad_sheets_get_a_clear_message_and_store_nothing(client, demo):
    round_, codes = new_round()
    ballots.cast_card_ballot(round_.id, codes[0], secrets.token_urlsafe(16),
                             [(k, v, "") for k, v in SATISFACTION.items()])
    login(client, "office")
    bad = client.post(f"/rounds/{round_.id}/paper", data={"code": "不是代码"})
    assert bad.status_code == 422 and "无法识别" in bad.get_data(as_text=True)
    spent = client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[0]))
    assert spent.status_code == 409 and "已通过手机提交" in spent.get_data(as_text=True)
    closing.close_round(None, db.session.get(Round, round_.id))
    closed = client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[1]))
    assert closed.status_code == 409 and "已经结束" in closed.get_data(as_text=True)
    assert _stored(round_.id) == (1, 1)


def test_secretary_without_delegation_and_supervisor_cannot_enter(client, demo):
    round_, codes = new_round()
    login(client, "secretary")
    assert client.get(f"/rounds/{round_.id}/paper").status_code == 403
    assert client.post(f"/rounds/{round_.id}/paper", data=_answers(codes[0])).status_code == 403
    client.post("/logout")
    login(client, "supervisor")
    assert client.get(f"/rounds/{round_.id}/paper").status_code in (403, 404)
    assert _stored(round_.id) == (0, 0)


def test_results_and_exports_show_the_channels(client, app, demo):
    _second_office(app)
    round_, codes = new_round(groups=None)
    rows = [(k, v, "") for k, v in SATISFACTION.items()]
    for code in codes:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)
    closing.close_round(None, round_)
    login(client, "office")
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "收回方式：电子 6 份，纸质 0 份" in page
    csv = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    assert "收回方式：电子 6 份，纸质 0 份" in csv
