"""What the office, supervision and secretaries see once rounds close: the overview, the
results page with its charts, decisions on proposals, and exports."""
import csv
import io
import re
import zipfile

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Decision, Flag, FlagKind, Round, RoundState
from tests.helpers import close_on_web, login


def _round(org_code: str, kind: str) -> Round:
    from tests.helpers import org_id

    return db.session.scalar(sa.select(Round).where(
        Round.organisation_id == org_id(org_code), Round.kind == kind))


def test_office_dashboard_shows_make_up_and_yellow_cards(client, demo_rounds):
    login(client, "office")
    html = client.get("/dashboard").get_data(as_text=True)
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<a href="/orgs/\d+">([^<]+)</a>(.*?)</tr>', html, re.S)}
    assert "补课（待确认）" in rows["县财政局党支部"]
    assert "需补课" in rows["兴文中学教工第一党支部"] and "黄牌" in rows["兴文中学教工第一党支部"]
    assert "补课" not in rows["县政府办公室党支部"] and "满意率 95.5%" in rows["县政府办公室党支部"]
    # The 补课 the rules propose waits on the round for the office; no flag holds it twice.
    assert "待决定的补课建议（1）" in html and "待处理的规则建议（0）" in html


def test_dashboard_filters_by_batch_and_parent(client, demo):
    login(client, "office")
    html = client.get("/dashboard?batch=3").get_data(as_text=True)
    assert "共乐镇新华村党支部" in html and "县委办公室党支部" not in html
    html = client.get(f"/dashboard?parent={demo['XW0201']}").get_data(as_text=True)
    assert "兴文中学教工第一党支部" in html and "县财政局党支部" not in html


def test_supervisor_sees_only_assigned_branches_and_secretary_lands_on_branch(client, demo):
    login(client, "supervisor")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "县委办公室党支部" in html and "县人民医院内科党支部" not in html
    assert client.get(f"/dashboard?parent={demo['XW03']}").status_code == 404
    client.post("/logout")
    login(client, "secretary")
    response = client.get("/dashboard")
    assert response.status_code == 302 and f"/orgs/{demo['XW0101']}" in response.headers["Location"]


def test_results_page_shows_numbers_and_charts_only_after_closing(client, demo):
    from tests.helpers import ballot_for, new_round

    round_, cards = new_round(kind="member_review")
    login(client, "secretary")
    assert client.get(f"/rounds/{round_.id}/charts/grades.svg").status_code == 404
    assert client.get(f"/rounds/{round_.id}/results.csv").status_code == 404
    for code in cards[:6]:
        client.post(f"/C/{code}", data=ballot_for(round_, "qualified"))
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "只显示参与情况" in html and "党员评议票数" not in html
    close_on_web(client, round_)
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "党员评议票数" in html and "有效票 6 份" in html
    for name in ("participation", "grades"):
        assert f"/rounds/{round_.id}/charts/{name}.svg" in html
        svg = client.get(f"/rounds/{round_.id}/charts/{name}.svg")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert b"<svg" in svg.data and len(svg.data) > 2000
    png = client.get(f"/rounds/{round_.id}/charts/grades.png")
    assert png.data.startswith(b"\x89PNG")


def test_office_confirms_and_overrides_from_the_web_with_audit(client, demo_rounds):
    login(client, "office")
    pending = db.session.scalar(sa.select(Round).where(
        Round.verdict_status == Decision.PROPOSED, Round.passed.is_(False)))
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "待决定的补课建议" in dashboard and f"/rounds/{pending.id}" in dashboard
    response = client.post(f"/rounds/{pending.id}/verdict/override", data={"reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    round_ = db.session.get(Round, pending.id)
    assert round_.verdict_status is Decision.PROPOSED  # a reason is required
    client.post(f"/rounds/{pending.id}/verdict/override",
                data={"reason": "测评期间恰逢汛期，样本不具代表性"})
    db.session.expire_all()
    round_ = db.session.get(Round, pending.id)
    assert round_.verdict_status is Decision.OVERRIDDEN and round_.passed is True
    assert "汛期" in round_.verdict_reason
    # A pass decided over the rules' 补课 opens no make-up for the branch.
    assert db.session.scalar(sa.select(Flag).where(Flag.round_id == pending.id,
                                                   Flag.kind == FlagKind.MAKE_UP)) is None
    from evalsvc.models import AuditEntry

    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "round.verdict.override"))
    assert entry.actor == "office" and "汛期" in entry.detail


def test_supervisor_cannot_confirm_proposals(client, demo_rounds):
    login(client, "supervisor")
    pending = db.session.scalar(sa.select(Round).where(Round.verdict_status == Decision.PROPOSED))
    client.post(f"/rounds/{pending.id}/verdict/confirm")
    client.post(f"/rounds/{pending.id}/verdict/override", data={"reason": "督导组认为应当通过"})
    db.session.expire_all()
    assert db.session.get(Round, pending.id).verdict_status is Decision.PROPOSED


def test_round_exports_carry_the_same_suppressed_numbers(client, demo_rounds):
    login(client, "office")
    round_ = _round("XW0103", "stage_review")
    assert round_.state is RoundState.CLOSED
    xlsx = client.get(f"/rounds/{round_.id}/results.xlsx")
    assert xlsx.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(xlsx.data)).namelist()
    assert any(n.startswith("xl/media/") for n in names)  # the charts are in the workbook
    text = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert any("满意率" in "".join(r) for r in rows)
    assert text.count("\ufeff") == 1


def test_campaign_overview_exports(client, demo_rounds, runner, tmp_path):
    login(client, "office")
    text = client.get("/dashboard/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["编码", "党支部"] and len(rows) == 1 + 12
    assert client.get("/dashboard/export.xlsx").data[:2] == b"PK"
    result = runner.invoke(args=["export", "campaign", "--xlsx", str(tmp_path / "c.xlsx"),
                                 "--csv", str(tmp_path / "c.csv")])
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "c.xlsx")["总览"]
    assert sheet.max_row == 13
    assert (tmp_path / "c.csv").read_text(encoding="utf-8-sig").startswith("编码,党支部")
