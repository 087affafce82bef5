"""The data set of the tally and export benchmarks.

On a fresh database with the demo county: a committee with 100 branches under it.
Branch 1 has 30 full members and a member_review round whose layout was frozen by
``open_round``, then filled by bulk inserts (SQLAlchemy Core, sorted random ids) with
N ballots × 30 grades, a few free-text notes, N receipts and N spent cards. Each of the
other 99 branches runs a small stage_review round through the real services (create,
open, cast card ballots, close), so the campaign overview has 100 branches with rounds.
"""
from __future__ import annotations

import random
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from bench.databases import Database, fresh_database
from bench.inproc import app_on, prepare

BRANCHES = 100
MEMBERS = 30
SMALL_ROUND_CARDS, SMALL_ROUND_BALLOTS = 10, 8
GRADES = ("excellent", "qualified", "basic", "unqualified")
GRADE_WEIGHTS = (30, 55, 10, 5)
NOTE_SHARE = 0.02  # ballots carrying one free-text note about a member
NOTES = ("学习不够主动，笔记流于形式。", "联系群众不够紧密。", "工作作风需要改进。",
         "组织生活参加不积极。", "=HYPERLINK(\"x\")", "服务意识有待加强。")
CHUNK = 2000  # ballots per insert batch


@dataclass
class BigRound:
    """What the benchmarks need to find the data set again."""

    database: Database
    app: object
    round_id: int
    committee_id: int
    ballots: int
    answers: int
    build_seconds: float


@contextmanager
def big_round(kind: str, ballots: int):
    """Build the data set on a fresh database; yield a BigRound (its app is live)."""
    with fresh_database(kind) as database:
        started = time.perf_counter()
        prepare(database)
        with app_on(database, WTF_CSRF_ENABLED=False) as app:
            with app.app_context():
                committee_id, big_branch, others = _organisations()
                for org_id in others:
                    _small_round(org_id)
                _clear_traces()
                round_id = _open_member_review(big_branch)
                answers = _bulk_ballots(round_id, ballots)
            yield BigRound(database, app, round_id, committee_id, ballots, answers,
                           time.perf_counter() - started)


def _organisations() -> tuple[int, int, list[int]]:
    """A committee under the county's working committee, with 100 branches in batch 1."""
    from evalsvc.extensions import db
    from evalsvc.models import (
        Batch, Member, MemberStatus, Organisation, OrgType, Stage, StageState, Unit,
    )
    from evalsvc.services.organisations import OrgData, create_org

    # Units are records picked from a list (an import adds new ones): add the bench's.
    db.session.add_all(Unit(name=name) for name in
                       ["基准测试单位", *(f"基准测试单位{n}" for n in range(1, BRANCHES + 1))])
    db.session.commit()
    top = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW"))
    batch = db.session.scalar(sa.select(Batch).where(Batch.number == 1))
    committee = create_org(None, OrgData("BENCH", "基准测试党委", OrgType.COMMITTEE,
                                         "基准测试单位", top.id, batch.id))
    rng = random.Random(30)
    ids = []
    for n in range(1, BRANCHES + 1):
        org = create_org(None, OrgData(f"BENCH{n:03d}", f"基准测试第{n}党支部", OrgType.BRANCH,
                                       f"基准测试单位{n}", committee.id, batch.id))
        for row in org.progress:  # like the demo's batch 1: study passed, review under way
            row.state = {Stage.STUDY: StageState.PASSED,
                         Stage.REVIEW: StageState.IN_PROGRESS}.get(row.stage,
                                                                    StageState.NOT_STARTED)
        size = MEMBERS if n == 1 else rng.randint(8, 20)
        for i in range(size):
            status = MemberStatus.PROBATIONARY if n != 1 and i % 9 == 4 else MemberStatus.FULL
            db.session.add(Member(organisation=org, name=f"党员{n:03d}{i:02d}", status=status))
        db.session.commit()
        ids.append(org.id)
    return committee.id, ids[0], ids[1:]


def _small_round(org_id: int) -> None:
    """A stage_review round through the real services: create, open, vote, close."""
    from evalsvc.models import GroupCode, Stage
    from evalsvc.services import ballots, closing, rounds

    rng = random.Random(org_id)
    round_ = rounds.create_round(None, rounds.RoundData(
        org_id, "stage_review", Stage.REVIEW, {GroupCode.MEMBER: SMALL_ROUND_CARDS}))
    rounds.open_round(None, round_)
    favour = rng.choice((0.3, 0.8, 0.9))
    for _group, code in rounds.card_codes(round_)[:SMALL_ROUND_BALLOTS]:
        rows = []
        for q in rounds.layout(round_):
            if q.type == "choice":
                pool = [o for o in q.options if o.positive == (rng.random() < favour)]
                rows.append((q.key, rng.choice(pool or q.options).value, ""))
            elif q.type == "multi":
                rows.append((q.key, q.options[0].value, ""))
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)
    closing.close_round(None, round_, scrub=False)  # cleared once for all, after the last


def _clear_traces() -> None:
    """Clear the small rounds' traces once (as a bulk close does), so the timed close
    clears only its own and no background retry rewrites tables during a measurement."""
    from evalsvc.services import traces

    for _attempt in range(20):
        if traces.scrub_pending(attempts=5):
            return
        time.sleep(1)
    print("  (the small rounds' traces are still pending: an older transaction holds them)")


def _open_member_review(org_id: int) -> int:
    from evalsvc.models import GroupCode, Stage
    from evalsvc.services import rounds

    round_ = rounds.create_round(None, rounds.RoundData(
        org_id, "member_review", Stage.REVIEW, {GroupCode.MEMBER: 30, GroupCode.MASSES: 30}))
    rounds.open_round(None, round_)
    return round_.id


def _bulk_ballots(round_id: int, count: int) -> int:
    """Insert ``count`` ballots with their answers packed as casting packs them, receipts
    and spent cards; returns the number of answers."""
    from evalsvc.extensions import db
    from evalsvc.models import Ballot, Card, Receipt, RespondentGroup, Round
    from evalsvc.services import rounds
    from evalsvc.services.packed import pack
    from evalsvc.services.today import today

    round_ = db.session.get(Round, round_id)
    grades = [q.key for q in rounds.layout(round_) if q.type == "choice"]
    notes = [q.key for q in rounds.layout(round_) if q.type == "text"]
    assert len(grades) == MEMBERS, f"{len(grades)} members on the ballot"
    groups = [g.id for g in round_.groups]
    rng = random.Random(100_000)
    # One member draws mostly 不合格, so closing flags someone.
    weights = {key: ((5, 15, 20, 60) if i == 0 else GRADE_WEIGHTS)
               for i, key in enumerate(grades)}
    ids = sorted(secrets.token_hex(16) for _ in range(count))
    day = today()
    answer_rows = 0
    with db.engine.begin() as conn:
        for start in range(0, count, CHUNK):
            chunk = ids[start:start + CHUNK]
            ballot_rows, receipts, cards = [], [], []
            for ballot_id in chunk:
                group_id = groups[0] if rng.random() < 0.4 else groups[1]
                picks = {key: rng.choices(GRADES, weights[key])[0] for key in grades}
                answers = [(key, value, None) for key, value in picks.items()]
                if rng.random() < NOTE_SHARE:
                    answers.append((rng.choice(notes), "", rng.choice(NOTES)))
                ballot_rows.append({"id": ballot_id, "round_id": round_id,
                                    "group_id": group_id, "day": day,
                                    "answers": pack(answers)})
                answer_rows += len(answers)
                receipts.append({"code": secrets.token_hex(10)[:12].upper(),
                                 "round_id": round_id})
                cards.append({"id": secrets.token_hex(16), "round_id": round_id,
                              "group_id": group_id, "code_hash": secrets.token_hex(32),
                              "spent": True})
            conn.execute(sa.insert(Ballot), ballot_rows)
            conn.execute(sa.insert(Receipt), receipts)
            conn.execute(sa.insert(Card), cards)
        for group_id in groups:
            conn.execute(sa.update(RespondentGroup).where(RespondentGroup.id == group_id)
                         .values(card_count=sa.select(sa.func.count()).select_from(Card)
                                 .where(Card.group_id == group_id).scalar_subquery()))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    db.session.expire_all()
    return answer_rows


def run_group(report, kinds: list[str], quick: bool, names: list[str]) -> None:
    """Build the data set once per database for the tally and exports benchmarks."""
    from bench import exports, tally

    count = 10_000 if quick else 100_000
    for kind in kinds:
        with big_round(kind, count) as data:
            if "tally" in names:
                tally.run_on(report, data)
            if "exports" in names:
                exports.run_on(report, data)
