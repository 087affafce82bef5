"""The weekly report at province scale: its summaries are aggregates and its lists bounded, so
the statements it runs do not grow with the branches; the page and the PDF say how many more
branches there are; the XLSX holds every row; the PDF builds with hundreds of branches that
held a round in the week (no LayoutError)."""
import io
from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from evalsvc.database import insert_rows
from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Opinion, Organisation, OrgType, Role, Round, RoundState, User
from evalsvc.render.report import write_report_pdf, write_report_xlsx
from evalsvc.services import day_totals, report
from evalsvc.services.today import today


def _grow(count: int, start: int = 0) -> None:
    """``count`` more branches under one committee, each with a round closed today (a copy
    of a demo round, its stored result included), its audit entry and a 督导意见."""
    some = db.session.scalar(sa.select(Organisation).where(Organisation.type == OrgType.BRANCH)
                             .order_by(Organisation.code))
    insert_rows(Organisation.__table__, ("code", "name", "type", "unit", "parent_id", "batch_id"),
                [(f"ZZ{i:05d}", f"扩展第{i}党支部", OrgType.BRANCH, "", some.parent_id,
                  some.batch_id) for i in range(start, start + count)])
    model = db.session.execute(sa.select(Round.__table__).where(
        Round.state == RoundState.CLOSED, Round.rehearsal.is_(False)).order_by(Round.id)
        .limit(1)).mappings().one()
    columns = tuple(c for c in model if c not in ("id", "poster_token"))
    new = db.session.execute(sa.select(Organisation.id, Organisation.code).where(
        Organisation.code.like("ZZ%"), Organisation.code >= f"ZZ{start:05d}")).all()
    insert_rows(Round.__table__, columns, [
        tuple({**model, "organisation_id": org_id, "title": f"{code}测评",
               "closed_on": today()}[c] for c in columns) for org_id, code in new])
    at = datetime.combine(today(), time(3), tzinfo=timezone.utc)
    rounds = db.session.execute(sa.select(Round.id, Round.organisation_id).where(
        Round.organisation_id.in_(sa.select(Organisation.id).where(
            Organisation.code >= f"ZZ{start:05d}", Organisation.code.like("ZZ%"))))).all()
    insert_rows(AuditEntry.__table__, ("at", "actor", "role", "action", "object_type",
                                       "object_id", "organisation_id", "detail"),
                [(at, "office", "office", "round.close", "round", str(round_id), org_id,
                  '{"ballots": 15}') for round_id, org_id in rounds])
    insert_rows(Opinion.__table__, ("organisation_id", "author", "written_on", "text"),
                [(org_id, "省督导组", today(), "台账需细化") for _id, org_id in rounds])
    day_totals.rebuild(db.session.connection())  # rows written around the ORM, as a bulk load
    db.session.commit()


def _statements(work) -> int:
    found = []

    def listener(*args):
        found.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(found)


def _office() -> User:
    return db.session.scalar(sa.select(User).where(User.role == Role.OFFICE))


def _period():
    return today() - timedelta(days=6), today()


@pytest.fixture
def small_lists(monkeypatch):
    """Lists of 20 and chunks of 50, so a few hundred branches show what 50,000 do."""
    monkeypatch.setattr(report, "CHUNK", 50)
    return 20


def _page_and_pdf(listed: int) -> None:
    week = report.weekly(_office(), *_period(), listed=listed)
    write_report_pdf(week, io.BytesIO())


def test_the_statements_do_not_grow_with_the_branches(app, demo_rounds, small_lists):
    _grow(30)
    db.session.expire_all()
    smaller = _statements(lambda: _page_and_pdf(small_lists))
    _grow(270, start=30)
    db.session.expire_all()
    larger = _statements(lambda: _page_and_pdf(small_lists))
    assert smaller == larger, (smaller, larger)
    # The XLSX reads every branch, a chunk at a time: a fixed set of statements a chunk.
    chunks = -(-report.weekly(_office(), *_period()).branch_count() // report.CHUNK)
    xlsx = _statements(lambda: write_report_xlsx(
        report.weekly(_office(), *_period(), listed=small_lists), io.BytesIO()))
    assert xlsx <= larger + 3 * 12 * (chunks + 4), (xlsx, larger, chunks)


def test_the_lists_say_how_many_more_and_the_xlsx_has_every_row(app, client, demo_rounds,
                                                                small_lists):
    _grow(300)
    week = report.weekly(_office(), *_period(), listed=small_lists)
    batch = week.branches[0].batch
    assert len(week.listed(batch)) == small_lists
    assert week.unlisted(batch) == week.branch_count(batch) - small_lists >= 280
    assert week.total("rounds_held") >= 300 and week.more_opinions() >= 300 - small_lists

    from evalsvc.render.report import listed_line
    line = listed_line(week, batch)
    assert f"共 {week.branch_count(batch)} 个党支部" in line and \
        f"其余 {week.unlisted(batch)} 个见 Excel" in line

    out = io.BytesIO()
    write_report_xlsx(week, out)
    book = load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    codes = [r[1] for r in book["周报"].iter_rows(min_row=2, values_only=True)]
    assert len(codes) == week.branch_count() and len(set(codes)) == len(codes)
    assert {f"ZZ{i:05d}" for i in range(300)} <= set(codes)
    changes = list(book["本期变化"].iter_rows(min_row=2, values_only=True))
    assert sum("「ZZ00299测评」" in c[1] for c in changes) == 1
    seals = list(book["封存摘要"].iter_rows(min_row=2, values_only=True))
    assert len(seals) == week.total("rounds_held")
    opinions = list(book["督导意见"].iter_rows(min_row=2, values_only=True))
    assert len(opinions) == week.more_opinions() + len(week.opinions)


def test_the_page_lists_the_first_branches_and_links_the_rest(client, demo_rounds, monkeypatch):
    from tests.helpers import login

    _grow(300)
    monkeypatch.setattr(report, "LISTED", 20)
    login(client, "office")
    start, end = _period()
    page = client.get(f"/reports/weekly?from={start}&to={end}").get_data(as_text=True)
    assert "扩展第0党支部" in page and "扩展第299党支部" not in page
    assert "此处列出按编码排序的前 20 个" in page and "见 Excel" in page


def test_the_pdf_builds_with_300_branches_that_held_a_round_in_the_week(app, demo_rounds):
    import pypdfium2

    _grow(300)
    week = report.weekly(_office(), *_period())
    out = io.BytesIO()
    write_report_pdf(week, out)
    pdf = pypdfium2.PdfDocument(out.getvalue())
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "扩展第0党支部" in text and "其余" in text and "见 Excel" in text
