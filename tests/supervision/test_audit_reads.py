"""Every read of credentials or results is audited, from the web and the command line:
listing card URLs, printing a poster, a tally, the overview, audit log and weekly report
exports, and chart images each leave an audit entry naming who and what."""
import json
from datetime import timedelta

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, GroupCode
from evalsvc.services.today import today
from tests.helpers import login
from tests.helpers import closed_satisfaction_round, new_round


def _entries(action: str) -> list[AuditEntry]:
    db.session.commit()  # see what requests and commands wrote
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


def _week():
    return (today() - timedelta(days=6)).isoformat(), today().isoformat()


def test_listing_card_urls_on_the_command_line_is_audited(runner, demo):
    round_, cards = new_round(groups={GroupCode.MASSES: 4})
    result = runner.invoke(args=["round", "cards", str(round_.id), "--urls"])
    assert result.exit_code == 0 and len(result.output.split()) == 4
    [entry] = _entries("round.list_card_urls")
    assert (entry.actor, entry.object_type, entry.object_id) == ("cli", "round", str(round_.id))
    assert json.loads(entry.detail) == {"cards": 4}
    assert entry.organisation_id == round_.organisation_id


def test_printing_a_poster_on_the_command_line_is_audited(runner, demo, tmp_path):
    round_, _ = new_round(poster=True, poster_cap=30)
    result = runner.invoke(args=["round", "poster", str(round_.id), "--pdf",
                                 str(tmp_path / "poster.pdf")])
    assert result.exit_code == 0, result.output
    [entry] = _entries("round.print_poster")
    assert (entry.actor, entry.object_id) == ("cli", str(round_.id))


def test_a_tally_on_the_command_line_is_audited(runner, demo):
    round_ = closed_satisfaction_round()
    assert runner.invoke(args=["round", "tally", str(round_.id)]).exit_code == 0
    assert runner.invoke(args=["round", "tally", str(round_.id), "--json"]).exit_code == 0
    entries = _entries("round.tally")
    assert [(e.actor, e.object_id, json.loads(e.detail)["format"]) for e in entries] == [
        ("cli", str(round_.id), "text"), ("cli", str(round_.id), "json")]


def test_exporting_the_overview_is_audited_on_the_web_and_the_command_line(client, runner,
                                                                           demo, tmp_path):
    login(client, "supervisor")
    assert client.get("/dashboard/export.csv?batch=1").status_code == 200
    result = runner.invoke(args=["export", "campaign", "--xlsx", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 0, result.output
    entries = _entries("export.overview")
    assert [(e.actor, e.role, e.object_type, e.object_id) for e in entries] == [
        ("supervisor", "supervisor", "export", "overview"),
        ("cli", "operator", "export", "overview")]
    assert json.loads(entries[0].detail) == {"batch": 1, "format": "csv"}


def test_exporting_the_audit_log_is_audited(client, demo):
    login(client, "office")
    response = client.get("/audit/export.xlsx?action=round.open")
    assert response.status_code == 200
    [entry] = _entries("export.audit_log")
    assert (entry.actor, entry.object_id) == ("office", "audit_log")
    assert json.loads(entry.detail)["filters"]["action"] == "round.open"


def test_exporting_the_weekly_report_is_audited_on_the_web_and_the_command_line(
        client, runner, demo, tmp_path):
    start, end = _week()
    login(client, "supervisor")
    assert client.get(f"/reports/weekly.pdf?from={start}&to={end}").status_code == 200
    result = runner.invoke(args=["report", "weekly", "--from", start, "--to", end,
                                 "--xlsx", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 0, result.output
    entries = _entries("export.weekly_report")
    assert [(e.actor, json.loads(e.detail)) for e in entries] == [
        ("supervisor", {"format": "pdf", "start": start, "end": end}),
        ("cli", {"format": "xlsx", "start": start, "end": end})]


def test_reading_a_chart_image_is_audited(client, demo):
    round_ = closed_satisfaction_round()
    login(client, "secretary")
    response = client.get(f"/rounds/{round_.id}/charts/participation.png")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert client.get(f"/rounds/{round_.id}/charts/nonsense.png").status_code == 404
    [entry] = _entries("round.chart")
    assert (entry.actor, entry.object_id) == ("secretary", str(round_.id))
    assert json.loads(entry.detail) == {"chart": "participation", "format": "png"}


def test_an_overview_export_audits_the_filter_that_narrowed_it(client, demo):
    login(client, "office")
    assert client.get("/dashboard/export.csv?mark=yellow_card&q=%E6%9D%91&stage=study"
                      "&state=passed").status_code == 200
    (entry,) = _entries("export.overview")
    assert json.loads(entry.detail) == {"batch": None, "format": "csv", "mark": "yellow_card",
                                        "q": "村", "stage": "study", "state": "passed"}
