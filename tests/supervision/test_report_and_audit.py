"""The weekly report's figures equal the data; the audit log reads, filters and exports."""
import io
import zipfile
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from evalsvc.extensions import db
from evalsvc.models import Ballot, Flag, Round, RoundState
from evalsvc.services.today import today
from tests.helpers import login


def _period():
    return (today() - timedelta(days=6)).isoformat(), today().isoformat()


def test_report_figures_equal_the_data(runner, demo_rounds, tmp_path):
    start, end = _period()
    result = runner.invoke(args=["report", "weekly", "--from", start, "--to", end,
                                 "--xlsx", str(tmp_path / "w.xlsx"), "--pdf",
                                 str(tmp_path / "w.pdf")])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(tmp_path / "w.xlsx")["周报"]
    header = [c.value for c in sheet[1]]
    rows = {r[1]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    closed = db.session.scalars(sa.select(Round).where(Round.state == RoundState.CLOSED)).all()
    assert sum(r["本期结束测评"] for r in rows.values()) == len(closed)
    ballots_closed = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(
        Ballot.round_id.in_([r.id for r in closed])))
    assert sum(r["已提交"] for r in rows.values()) == ballots_closed
    assert sum(r["新提规则建议"] for r in rows.values()) == db.session.scalar(
        sa.select(sa.func.count()).select_from(Flag))
    assert rows["XW0103"]["满意率（%）"] < 60 and rows["XW0102"]["满意率（%）"] > 90
    assert rows["XW020101"]["本期确认"] == 2  # 补课 and the yellow card
    # What happened to which round: named, with its ballots (not an audit dump).
    assert "「县委办公室党支部民主评议党员测评票」（分析评议，第1次）结束测评，收回答卷 16 份" in \
        rows["XW0101"]["本期变化"]
    assert (tmp_path / "w.pdf").read_bytes().startswith(b"%PDF")
    import pypdfium2

    text = pypdfium2.PdfDocument(str(tmp_path / "w.pdf"))[0].get_textpage().get_text_range()
    assert "督导工作周报" in text


def test_report_outside_the_period_is_empty(runner, demo_rounds, tmp_path):
    old = (today() - timedelta(days=60)).isoformat()
    older = (today() - timedelta(days=90)).isoformat()
    runner.invoke(args=["report", "weekly", "--from", older, "--to", old,
                        "--xlsx", str(tmp_path / "w.xlsx")])
    sheet = load_workbook(tmp_path / "w.xlsx")["周报"]
    assert all(r[6] == 0 for r in sheet.iter_rows(min_row=2, values_only=True))


def test_supervisor_exports_the_week_from_the_web(client, demo_rounds):
    login(client, "supervisor")
    start, end = _period()
    page = client.get(f"/reports/weekly?from={start}&to={end}").get_data(as_text=True)
    assert "县委办公室党支部" in page and "县人民医院内科党支部" not in page  # scope
    xlsx = client.get(f"/reports/weekly.xlsx?from={start}&to={end}")
    assert xlsx.status_code == 200 and "xl/media/image1.png" in \
        zipfile.ZipFile(io.BytesIO(xlsx.data)).namelist()
    assert client.get(f"/reports/weekly.pdf?from={start}&to={end}").data.startswith(b"%PDF")


def test_audit_log_is_read_and_filtered_within_scope_and_exported(client, demo_rounds):
    login(client, "supervisor")
    html = client.get("/audit/?action=结束测评").get_data(as_text=True)
    assert html.count('<td class="action">结束测评</td>') == 4  # all four are in XW01/XW02
    html = client.get("/audit/?action=新建组织").get_data(as_text=True)
    assert html.count('<td class="action">新建组织</td>') == 8  # the two subtrees, not the 21
    client.post("/logout")
    login(client, "office")
    html = client.get("/audit/?action=round.close").get_data(as_text=True)  # the code works too
    assert html.count('<td class="action">结束测评</td>') == 4
    xlsx = client.get("/audit/export.xlsx?action=round")
    rows = list(load_workbook(io.BytesIO(xlsx.data))["审计日志"].iter_rows(values_only=True))
    assert rows[0][0] == "序号" and all(r[5].startswith("round") for r in rows[1:])
    assert rows[0][1] == "时间（北京时间）" and "结束测评" in {r[4] for r in rows[1:]}
    client.post("/logout")
    login(client, "secretary")
    assert client.get("/audit/").status_code == 404


def test_no_route_can_change_the_audit_log(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("audit."):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_supervision_opinions_reach_the_office_and_the_branch(client, demo):
    from tests.helpers import new_round

    round_, _ = new_round()
    login(client, "supervisor")
    client.post(f"/rounds/{round_.id}/opinions", data={"text": "测评卡发放名单应当公开"})
    client.post(f"/orgs/{demo['XW0101']}/opinions", data={"text": "整改台账需细化到人"})
    assert client.post(f"/orgs/{demo['XW0101']}/opinions", data={"text": ""}).status_code == 302
    client.post("/logout")
    for role in ("office", "secretary"):
        login(client, role)
        assert "测评卡发放名单应当公开" in client.get(f"/rounds/{round_.id}").get_data(as_text=True)
        page = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
        assert "整改台账需细化到人" in page and "测评卡发放名单应当公开" in page
        client.post("/logout")
    from evalsvc.models import Opinion

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Opinion)) == 2


def test_printing_cards_is_audited(client, demo):
    from evalsvc.models import AuditEntry
    from tests.helpers import new_round

    from evalsvc.services.printing import set_delegation

    round_, _ = new_round()
    set_delegation(None, round_, True)
    login(client, "secretary")
    client.get(f"/rounds/{round_.id}/cards.pdf")
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "round.print_cards"))
    assert entry.actor == "secretary" and '"cards": 6' in entry.detail
