"""5. Page weight: what a respondent's phone downloads for each kind's ballot page.

For each kind a round is created and opened on the demo county (member_review on its
largest branch, so the page lists the most members), and its first card's page fetched
through the test client. Sizes are gzip level 6, as nginx would send them. Floor: the
page plus phone.css, gzipped, ≤ 15 KB (15,000 bytes) for every kind.
"""
from __future__ import annotations

import gzip

from bench.databases import fresh_database
from bench.inproc import app_on, prepare
from bench.report import Report

SECTION = "5. page weight"
MAX_BYTES = 15_000
KINDS = ("opinion", "member_review", "satisfaction", "stage_review")
OTHER_BRANCH = "XW0102"


def gz(data: bytes) -> int:
    """Bytes after gzip level 6."""
    return len(gzip.compress(data, compresslevel=6))


def _largest_branch():
    import sqlalchemy as sa

    from evalsvc.extensions import db
    from evalsvc.models import Member, Organisation, OrgType

    return db.session.execute(
        sa.select(Organisation.id, Organisation.code, sa.func.count(Member.id))
        .join(Member, Member.organisation_id == Organisation.id)
        .where(Organisation.type == OrgType.BRANCH)
        .group_by(Organisation.id, Organisation.code)
        .order_by(sa.func.count(Member.id).desc())).first()


def _card_page(app, kind: str) -> tuple[str, bytes, int]:
    import sqlalchemy as sa

    from evalsvc.extensions import db
    from evalsvc.models import GroupCode, Organisation, Stage
    from evalsvc.services import rounds

    with app.app_context():
        if kind == "member_review":
            org_id, code, _members = _largest_branch()
        else:
            code = OTHER_BRANCH
            org_id = db.session.scalar(sa.select(Organisation.id)
                                       .where(Organisation.code == code))
        round_ = rounds.create_round(None, rounds.RoundData(
            org_id, kind, Stage.REVIEW, {GroupCode.MASSES: 2}))
        rounds.open_round(None, round_)
        questions = len(rounds.layout(round_))
        card = rounds.card_codes(round_)[0][1]
    response = app.test_client().get(f"/C/{card}")
    if response.status_code != 200:
        raise RuntimeError(f"{kind} ballot page answered {response.status_code}")
    return code, response.data, questions


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Weigh each kind's ballot page with the stylesheet."""
    with fresh_database(kinds[0] if kinds else "sqlite") as database:
        prepare(database)
        with app_on(database) as app:
            css = app.test_client().get("/static/phone.css").data
            css_gz = gz(css)
            report.figure(SECTION, "phone.css", f"{css_gz:,} B gz", f"{len(css):,} B raw")
            for kind in KINDS:
                code, page, questions = _card_page(app, kind)
                total = gz(page) + css_gz
                report.check(SECTION, f"{kind} page + css ({code})", f"{total:,} B gz",
                             total <= MAX_BYTES, f"≤ {MAX_BYTES:,} B",
                             f"page {gz(page):,} B gz / {len(page):,} B raw, "
                             f"{questions} fields")
