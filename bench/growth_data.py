"""The province-sized campaign of the growth benchmark, grown in steps on PostgreSQL.

The tree is province-like: 市 (机关工委 level) → 县 党委 → 党总支 → 党支部, 10 branches per
党总支, 10 党总支 per 党委 (100 branches), 50 党委 per 市 (5,000 branches); the first 市
fills first, so a supervisor assigned to it sees every branch up to 5,000 and a tenth of
50,000. Batches 1–3 go by 党委; one unit (单位) per 党总支.

Each branch has 15 members (every ninth probationary), three closed rounds with stored
results — 学习动员 stage_review, 分析评议 member_review and stage_review — and one open
分析评议 opinion round with its cards, some of them spent. The first few branches are
**templates** built through the real services (``create_round``, ``open_round``,
``cast_card_ballot``, ``close_round``, the office's verdict and flag decisions), so their
``layout_json``, ``result_json``, ``settings_json``, verdicts and flags are what the app
writes. Every other branch copies one template's rows (new ids, its own members' ids in the
layout and result, its own name in the titles, dates spread over the campaign) with
``COPY`` through ``evalsvc.database.insert_rows``; templates are drawn with weights, so most
branches pass, some have 补课 proposed or confirmed (with its MAKE_UP flag and a yellow
card), some a confirmed yellow card (a unit with two of them has 集体诫勉 proposed), some a member
found 不合格 at first review.

About 3 % of the branches closed their 分析评议 rounds in the current weekly-report period
(the week before the latest reporting day), with the audit entries and flags the report
reads; the others closed earlier.

Left out on purpose (no timed page or export reads them): the answers, receipts and spent
cards of the closed rounds (pages read the stored result and the ballot counts; ballots
rows are kept so the counts are real), the audit entries of rounds closed before the
period and of the organisations' creation.
"""
from __future__ import annotations

import random
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

CITIES = ("成都", "自贡", "攀枝花", "泸州", "德阳", "绵阳", "广元", "遂宁", "内江", "乐山")
BRANCHES_PER_GENERAL = 10
GENERALS_PER_COMMITTEE = 10
COMMITTEES_PER_CITY = 50
BRANCHES_PER_COMMITTEE = BRANCHES_PER_GENERAL * GENERALS_PER_COMMITTEE  # 100
BRANCHES_PER_CITY = BRANCHES_PER_COMMITTEE * COMMITTEES_PER_CITY  # 5,000
MEMBERS = 15
IN_PERIOD_EVERY = 33  # one branch in 33 (3 %) closed its review rounds in the report's week
OPEN_USED = 0.4  # share of the open round's cards already spent

OFFICE = ("growth-office", "growth-office-pass")
SUPERVISOR = ("growth-supervisor", "growth-supervisor-pass")

SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏"
GIVEN = "国华建军明文芳丽红英秀兰玉梅志强永刚海平伟勇德福春燕霞云桂林涛斌超静敏婷洪波宇杰鹏辉俊峰磊"


@dataclass(frozen=True)
class Scenario:
    """One template branch: how its voters lean and what the office decided."""

    name: str
    weight: float  # share of the copied branches
    favour: dict[str, float]  # round key → how often a voter picks a favourable option
    confirm: tuple[str, ...] = ()  # round keys whose proposed verdict the office confirms
    confirm_yellow: bool = False  # the office confirms the yellow card 补课 proposed
    unqualified: bool = False  # one member draws mostly 不合格


SCENARIOS = (
    Scenario("all passed, verdicts pending", 0.40,
             {"study": 0.9, "members": 0.9, "review": 0.9}),
    Scenario("all passed, confirmed", 0.35, {"study": 0.9, "members": 0.9, "review": 0.85},
             confirm=("study", "members", "review")),
    Scenario("补课 proposed", 0.08, {"study": 0.85, "members": 0.9, "review": 0.15},
             confirm=("study", "members")),
    Scenario("补课 confirmed, yellow card proposed", 0.07,
             {"study": 0.85, "members": 0.9, "review": 0.1},
             confirm=("study", "members", "review")),
    Scenario("补课 and yellow card confirmed", 0.05,
             {"study": 0.8, "members": 0.85, "review": 0.1},
             confirm=("study", "members", "review"), confirm_yellow=True),
    Scenario("a member 不合格 at first review", 0.05,
             {"study": 0.9, "members": 0.85, "review": 0.9},
             confirm=("study", "review"), unqualified=True),
)
# The rounds of a branch: key, kind, stage, cards per group, share of cards used.
ROUNDS = (("study", "stage_review", "study", {"member": 12, "masses": 10}, 0.9),
          ("members", "member_review", "review", {"member": 15}, 0.9),
          ("review", "stage_review", "review", {"member": 12, "masses": 10}, 0.85),
          ("open", "opinion", "review", {"masses": 15, "service": 5}, 0.0))


@dataclass
class Template:
    """What a template branch's rows are, read back once built."""

    scenario: Scenario
    org_id: int
    name: str
    members: list[dict]  # member rows, in id order
    progress: list[dict]
    rounds: list[dict]  # round rows (id order) with "key"
    groups: list[dict]
    ballots: list[dict]  # (round_id, group_id, day) of every ballot
    flags: list[dict]
    audit: list[dict]  # entries the weekly report reads, of its rounds and flags


@dataclass
class Growth:
    """The campaign as grown so far, and how long each step took."""

    database: object  # bench.databases.Database
    app: object
    branches: int = 0
    templates: list[Template] = field(default_factory=list)
    supervisor_root: int | None = None
    steps: list[tuple[int, float]] = field(default_factory=list)  # (branches, seconds)
    made: set[str] = field(default_factory=set)  # codes of the non-branch orgs made


def branch_place(i: int) -> tuple[int, int, int]:
    """(city, committee, general branch) indexes of branch number ``i`` (0-based)."""
    general = i // BRANCHES_PER_GENERAL
    committee = general // GENERALS_PER_COMMITTEE
    return committee // COMMITTEES_PER_CITY, committee, general


def codes_of(i: int) -> tuple[str, str, str, str]:
    city, committee, general = branch_place(i)
    c = f"G{city:02d}"
    k = f"{c}C{committee:03d}"
    g = f"{k}Z{general:05d}"
    return c, k, g, f"GB{i:06d}"


def names_of(i: int) -> tuple[str, str, str, str, str]:
    """Names of the city, committee, general branch, branch, and the branch's unit."""
    city, committee, general = branch_place(i)
    c_name = f"中共{CITIES[city % len(CITIES)]}市委机关工委"
    k_name = f"{CITIES[city % len(CITIES)]}第{committee % COMMITTEES_PER_CITY + 1}县委"
    g_name = f"{k_name}第{general % GENERALS_PER_COMMITTEE + 1}党总支"
    unit = f"{k_name}第{general % GENERALS_PER_COMMITTEE + 1}单位"
    b_name = f"{g_name}第{i % BRANCHES_PER_GENERAL + 1}党支部"
    return c_name, k_name, g_name, b_name, unit


def batch_number(i: int) -> int:
    return branch_place(i)[1] % 3 + 1


# ---------------------------------------------------------------------------------------
# Building and growing


def start(database, app) -> Growth:
    """Accounts, the tree of the templates and the templates themselves (real services)."""
    from evalsvc.extensions import db
    from evalsvc.models import Role
    from evalsvc.services.users import UserData, create_user

    growth = Growth(database, app)
    started = time.perf_counter()
    with app.app_context():
        _structure(growth, 0, len(SCENARIOS))
        db.session.commit()
        for n, scenario in enumerate(SCENARIOS):
            growth.templates.append(_template(n, scenario))
        growth.branches = len(SCENARIOS)
        city = db.session.scalar(sa.text("SELECT id FROM organisations WHERE code = 'G00'"))
        growth.supervisor_root = city
        create_user(None, UserData(OFFICE[0], Role.OFFICE, "省先教办"), OFFICE[1])
        create_user(None, UserData(SUPERVISOR[0], Role.SUPERVISOR, "省第一督导组", None,
                                   (city,)), SUPERVISOR[1])
    date_templates(growth)
    growth.steps.append((growth.branches, time.perf_counter() - started))
    return growth


def grow(growth: Growth, target: int) -> float:
    """Add branches (copies of the templates) until there are ``target``; seconds taken."""
    from evalsvc.extensions import db

    started = time.perf_counter()
    with growth.app.app_context():
        first = growth.branches
        _structure(growth, first, target)
        rng = random.Random(target)
        weights = [t.scenario.weight for t in growth.templates]
        chosen = rng.choices(range(len(growth.templates)), weights, k=target - first)
        for start_at in range(first, target, 5000):
            stop = min(target, start_at + 5000)
            _copy_branches(growth, list(range(start_at, stop)),
                           chosen[start_at - first:stop - first], rng)
            db.session.commit()
        _admonish(growth)
        # The rows went in around the ORM (COPY, and the templates' dates by UPDATE): the
        # weekly report's kept totals are made again from them, as after a bulk load.
        from evalsvc.services import day_totals

        day_totals.rebuild(db.session.connection())
        db.session.commit()
        growth.branches = target
        with db.engine.connect() as conn:  # a database in use has been autovacuumed since:
            # its visibility map lets counts read indexes alone, as they would in a province
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM (ANALYZE)")
        # The templates' rounds were closed with scrub=False: clear them as a close does
        # once nothing holds it up. Left pending, every page process's background retry
        # rewrote the tables (CLUSTER, seconds at 50,000) while its requests were timed,
        # and was cut off when the process ended, so the next one started it again.
        from evalsvc.services import traces

        if not traces.scrub_pending(attempts=5):
            raise RuntimeError("the template rounds' old row copies could not be cleared")
    seconds = time.perf_counter() - started
    growth.steps.append((target, seconds))
    return seconds


def _next_ids(table: str, count: int) -> list[int]:
    from evalsvc.extensions import db

    if not count:
        return []
    return list(db.session.scalars(sa.text(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
        f"FROM generate_series(1, :n)"), {"n": count}))


def _structure(growth: Growth, first: int, stop: int) -> None:
    """The cities, committees, general branches and units the branches [first, stop) sit
    under, those not made yet (bulk, with their three stages not started)."""
    from evalsvc.database import insert_rows
    from evalsvc.extensions import db
    from evalsvc.models import Organisation, OrgType, Stage, StageProgress, StageState, Unit
    from evalsvc.services.campaigns import current_campaign

    campaign = current_campaign()
    batches = {b.number: b.id for b in campaign.batches}
    wanted = []  # (code, name, type, parent code, unit, batch)
    for i in range(first, stop, BRANCHES_PER_GENERAL):
        c, k, g, _b = codes_of(i)
        c_name, k_name, g_name, _n, unit = names_of(i)
        batch = batches[batch_number(i)]
        for row in ((c, c_name, OrgType.WORKING_COMMITTEE, None, "", None),
                    (k, k_name, OrgType.COMMITTEE, c, "", batch),
                    (g, g_name, OrgType.GENERAL_BRANCH, k, unit, batch)):
            if row[0] not in growth.made:
                growth.made.add(row[0])
                wanted.append(row)
    if not wanted:
        return
    unit_names = sorted({w[4] for w in wanted if w[4]})
    unit_ids = dict(zip(unit_names, _next_ids("units", len(unit_names))))
    insert_rows(Unit.__table__, ("id", "name"), ((i, n) for n, i in unit_ids.items()))
    ids = dict(zip([w[0] for w in wanted], _next_ids("organisations", len(wanted))))
    known = dict(db.session.execute(sa.select(Organisation.code, Organisation.id).where(
        Organisation.code.in_({w[3] for w in wanted if w[3] and w[3] not in ids}))).all())
    known.update(ids)
    insert_rows(Organisation.__table__,
                ("id", "code", "name", "type", "unit", "unit_id", "parent_id", "batch_id"),
                ((ids[code], code, name, kind, unit, unit_ids.get(unit),
                  known[parent] if parent else None, batch)
                 for code, name, kind, parent, unit, batch in wanted))
    insert_rows(StageProgress.__table__, ("organisation_id", "campaign_id", "stage", "state"),
                ((ids[w[0]], campaign.id, s, StageState.NOT_STARTED)
                 for w in wanted for s in Stage))


def _member_names(rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < MEMBERS:
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        names.add(rng.choice(SURNAMES) + given)
    return sorted(names)


def _template(n: int, scenario: Scenario) -> Template:
    """Branch number ``n``, built and run through the real services."""
    from evalsvc.extensions import db
    from evalsvc.models import (
        GroupCode, Member, MemberStatus, Organisation, OrgType, Role, Stage, StageState, User,
    )
    from evalsvc.services import closing, flags, rounds
    from evalsvc.services.organisations import OrgData, create_org

    rng = random.Random(1000 + n)
    _c, _k, g, code = codes_of(n)
    *_rest, name, unit = names_of(n)
    parent = db.session.scalar(sa.select(Organisation.id).where(Organisation.code == g))
    batch = db.session.scalar(sa.text(
        "SELECT b.id FROM batches b WHERE b.number = :n ORDER BY b.campaign_id DESC LIMIT 1"),
        {"n": batch_number(n)})
    org = create_org(None, OrgData(code, name, OrgType.BRANCH, unit, parent, batch))
    for i, member in enumerate(_member_names(rng)):
        status = MemberStatus.PROBATIONARY if i % 9 == 4 else MemberStatus.FULL
        db.session.add(Member(organisation=org, name=member, status=status))
    db.session.commit()
    org_id = org.id
    office = User(username="template-office", role=Role.OFFICE)
    made = {}
    for key, kind, stage, cards, used in ROUNDS:
        stage = Stage(stage)
        if stage is Stage.REVIEW:
            _set_stage(org_id, {Stage.STUDY: StageState.PASSED,
                                Stage.REVIEW: StageState.IN_PROGRESS})
        round_ = rounds.create_round(None, rounds.RoundData(
            org_id, kind, stage, {GroupCode(g_): c for g_, c in cards.items()}))
        rounds.open_round(None, round_)
        _vote(round_.id, used or OPEN_USED, scenario.favour.get(key, 0.6),
              scenario.unqualified and key == "members", rng)
        if key != "open":
            round_ = db.session.get(type(round_), round_.id)
            closing.close_round(None, round_, scrub=False)
            round_ = db.session.get(type(round_), round_.id)
            if key in scenario.confirm and round_.passed is not None:
                flags.confirm_verdict(office, round_)
        made[key] = round_.id
    if scenario.confirm_yellow:
        from evalsvc.models import Flag, FlagKind

        card = db.session.scalar(sa.select(Flag).where(Flag.organisation_id == org_id,
                                                       Flag.kind == FlagKind.YELLOW_CARD))
        flags.confirm(office, card)
    db.session.commit()
    return _read_template(scenario, org_id, name, made)


def _set_stage(org_id: int, states) -> None:
    from evalsvc.extensions import db
    from evalsvc.models import Organisation

    org = db.session.get(Organisation, org_id)
    for row in org.progress:
        row.state = states.get(row.stage, row.state)
    db.session.commit()


def _vote(round_id: int, used: float, favour: float, unqualified: bool,
          rng: random.Random) -> None:
    """Cast ``used`` of the round's cards the way a phone does."""
    from evalsvc.extensions import db
    from evalsvc.models import Round
    from evalsvc.services import ballots, rounds

    round_ = db.session.get(Round, round_id)
    layout = rounds.layout(round_)
    cards = rounds.card_codes(round_)
    first_member = next((q.key for q in layout if q.member_id is not None), None)
    for _group, code in cards[:round(len(cards) * used)]:
        rows = []
        for q in layout:
            if q.type == "choice":
                if unqualified and q.key == first_member:
                    worst = [o for o in q.options if o.value == "unqualified"]
                    rows.append((q.key, (worst[0] if worst and rng.random() < 0.8
                                         else rng.choice(q.options)).value, ""))
                    continue
                want = rng.random() < favour
                pool = [o for o in q.options if o.positive == want and o.valid]
                if not want and rng.random() < 0.05:  # now and then 不了解
                    pool = [o for o in q.options if not o.valid] or pool
                rows.append((q.key, rng.choice(pool or q.options).value, ""))
            elif q.type == "multi":
                rows.append((q.key, q.options[0].value, ""))
        ballots.cast_card_ballot(round_id, code, secrets.token_urlsafe(16), rows)
    db.session.expire_all()


def _rows(sql: str, **params) -> list[dict]:
    from evalsvc.extensions import db

    return [dict(r._mapping) for r in db.session.execute(sa.text(sql), params)]


def _read_template(scenario: Scenario, org_id: int, name: str, made: dict) -> Template:
    keys = {v: k for k, v in made.items()}
    rounds_ = _rows("SELECT * FROM rounds WHERE organisation_id = :o ORDER BY id", o=org_id)
    for r in rounds_:
        r["key"] = keys[r["id"]]
    ids = [r["id"] for r in rounds_]
    flag_rows = _rows("SELECT * FROM flags WHERE organisation_id = :o ORDER BY id", o=org_id)
    from evalsvc.services.report import CHANGE_ACTIONS

    audit = [a for a in _rows("SELECT * FROM audit_log WHERE organisation_id = :o "
                              "ORDER BY id", o=org_id) if a["action"] in CHANGE_ACTIONS]
    return Template(
        scenario, org_id, name,
        _rows("SELECT * FROM members WHERE organisation_id = :o ORDER BY id", o=org_id),
        _rows("SELECT * FROM stage_progress WHERE organisation_id = :o ORDER BY id", o=org_id),
        rounds_,
        _rows("SELECT * FROM respondent_groups WHERE round_id = ANY(:r) ORDER BY id", r=ids),
        _rows("SELECT round_id, group_id, day FROM ballots WHERE round_id = ANY(:r)", r=ids),
        flag_rows, audit)


# ---------------------------------------------------------------------------------------
# Dates: the campaign's calendar, relative to today


def _calendar(in_period: bool, overdue: bool) -> dict[str, dict[str, date | None]]:
    """Each round key's created/opened/closed/planned dates."""
    from evalsvc.services.report import default_period
    from evalsvc.services.today import today

    day = today()
    first, _last = default_period(day)
    back = (lambda n: day - timedelta(days=n))
    review_close = (first + timedelta(days=2), first + timedelta(days=3)) if in_period \
        else (back(21), back(20))
    review_open = first - timedelta(days=5) if in_period else back(28)
    return {
        "study": dict(created_on=back(62), opened_on=back(58), closed_on=back(50),
                      planned_close_on=back(50)),
        "members": dict(created_on=review_open - timedelta(days=2), opened_on=review_open,
                        closed_on=review_close[0], planned_close_on=review_close[0]),
        "review": dict(created_on=review_open - timedelta(days=2), opened_on=review_open,
                       closed_on=review_close[1], planned_close_on=review_close[1]),
        "open": dict(created_on=back(6), opened_on=back(5), closed_on=None,
                     planned_close_on=back(2) if overdue else day + timedelta(days=3)),
    }


def in_period(i: int) -> bool:
    """Branches whose 分析评议 rounds closed in the current weekly-report period."""
    return i % IN_PERIOD_EVERY == IN_PERIOD_EVERY - 1


def _moment(day: date) -> datetime:
    """Mid-morning of a local day, in UTC (how audit entries are stored)."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)


def date_templates(growth: Growth) -> None:
    """Put the templates' rounds, ballots and flags on the same calendar as the copies
    (the services dated them all today)."""
    from evalsvc.extensions import db

    with growth.app.app_context():
        for n, template in enumerate(growth.templates):
            calendar = _calendar(in_period(n), n % 10 == 9)
            for r in template.rounds:
                dates = calendar[r["key"]]
                db.session.execute(sa.text(
                    "UPDATE rounds SET created_on = :created_on, opened_on = :opened_on, "
                    "closed_on = CASE WHEN closed_on IS NULL THEN NULL ELSE CAST(:closed_on AS date) END, "
                    "planned_close_on = :planned_close_on WHERE id = :id"),
                    {**dates, "id": r["id"]})
                db.session.execute(sa.text("UPDATE ballots SET day = :d WHERE round_id = :r"),
                                   {"d": dates["opened_on"], "r": r["id"]})
                db.session.execute(sa.text(
                    "UPDATE flags SET raised_on = :d, decided_on = CASE WHEN decided_on IS "
                    "NULL THEN NULL ELSE CAST(:d AS date) END WHERE round_id = :r"),
                    {"d": dates["closed_on"] or dates["opened_on"], "r": r["id"]})
                r.update({k: v for k, v in dates.items() if k != "closed_on" or r[k]})
            review = calendar["review"]["closed_on"]
            db.session.execute(sa.text(
                "UPDATE flags SET raised_on = :d, decided_on = CASE WHEN decided_on IS NULL "
                "THEN NULL ELSE CAST(:d AS date) END WHERE organisation_id = :o AND round_id IS NULL"),
                {"d": review, "o": template.org_id})
        db.session.commit()


# ---------------------------------------------------------------------------------------
# Copies

_MEMBER_ID = re.compile(r'(_m|"member_id": )(\d+)')


def _copy_branches(growth: Growth, numbers: list[int], picks: list[int],
                   rng: random.Random) -> None:
    """Branches ``numbers``, each a copy of template ``picks[k]``, by COPY."""
    from evalsvc.database import insert_rows
    from evalsvc.extensions import db
    from evalsvc.models import (
        AuditEntry, Ballot, Card, Flag, Member, Organisation, RespondentGroup, Round,
        StageProgress,
    )
    from evalsvc.services.campaigns import current_campaign
    from evalsvc.services.rounds import _rows_of

    key = growth.app.config["SECRET_KEY"]
    campaign = current_campaign()
    batches = {b.number: b.id for b in campaign.batches}
    templates = [growth.templates[p] for p in picks]
    parents = dict(db.session.execute(sa.select(Organisation.code, Organisation.id).where(
        Organisation.code.in_({codes_of(i)[2] for i in numbers}))).all())
    units = dict(db.session.execute(sa.text("SELECT name, id FROM units")).all())
    org_ids = _next_ids("organisations", len(numbers))
    member_ids = iter(_next_ids("members", MEMBERS * len(numbers)))
    round_ids = iter(_next_ids("rounds", sum(len(t.rounds) for t in templates)))
    group_ids = iter(_next_ids("respondent_groups", sum(len(t.groups) for t in templates)))
    flag_ids = iter(_next_ids("flags", sum(len(t.flags) for t in templates)))

    orgs, progress, members, rounds_, groups, ballots, cards, flags, audit = \
        [], [], [], [], [], [], [], [], []
    round_cols = [c.name for c in Round.__table__.columns]
    flag_cols = [c.name for c in Flag.__table__.columns]
    for i, org_id, t in zip(numbers, org_ids, templates):
        _c, _k, g, code = codes_of(i)
        *_rest, name, unit = names_of(i)
        orgs.append((org_id, code, name, "branch", unit, units[unit], parents[g],
                     batches[batch_number(i)]))
        progress += [(org_id, p["campaign_id"], p["stage"], p["state"]) for p in t.progress]
        m_map = {}
        for m in t.members:
            m_map[m["id"]] = new = next(member_ids)
            members.append((new, org_id, m["name"], m["status"], m["active"], m["sort_order"],
                            m["gender"], m["birth_month"], m["position"], m["retired"]))
        sub = (lambda match, m_map=m_map: match.group(1) + str(m_map[int(match.group(2))]))
        calendar = _calendar(in_period(i), i % 10 == 9)
        r_map, g_map, dates_of = {}, {}, {}
        for r in t.rounds:
            r_map[r["id"]] = new_round = next(round_ids)
            dates = calendar[r["key"]]
            if r["closed_on"] is None:
                dates = {**dates, "closed_on": None}
            dates_of[r["id"]] = dates
            # traces_pending: a copy has no answers to clear (the templates were closed
            # with scrub=False; 150,000 pending rounds would keep every app process's
            # scrub thread busy during the timed requests).
            row = dict(r, id=new_round, organisation_id=org_id, **dates, traces_pending=False,
                       title=r["title"].replace(t.name, name),
                       digest=secrets.token_hex(32) if r["digest"] else None)
            for column in ("layout_json", "result_json"):
                if row[column]:
                    row[column] = _MEMBER_ID.sub(sub, row[column].replace(t.name, name)
                                                 .replace(f'"round_id": {r["id"]},',
                                                          f'"round_id": {new_round},'))
            rounds_.append(tuple(row[c] for c in round_cols))
        spent: dict[int, int] = {}
        for b in t.ballots:
            spent[b["group_id"]] = spent.get(b["group_id"], 0) + 1
        for gr in t.groups:
            g_map[gr["id"]] = new_group = next(group_ids)
            groups.append((new_group, r_map[gr["round_id"]], gr["code"], gr["card_count"]))
        for b in t.ballots:
            dates = dates_of[b["round_id"]]
            ballots.append((secrets.token_hex(16), r_map[b["round_id"]], g_map[b["group_id"]],
                            dates["opened_on"], "phone"))
        for r in t.rounds:
            if r["state"] == "open":
                for gr in t.groups:
                    if gr["round_id"] != r["id"]:
                        continue
                    used = spent.get(gr["id"], 0)
                    for n, (card_id, *rest, _spent) in enumerate(_rows_of(key, [(
                            r_map[r["id"]], g_map[gr["id"]], gr["code"], gr["card_count"],
                            r["card_epoch"], r["code_version"])])):
                        cards.append((card_id, *rest, n < used))
        f_map = {}
        review_day = calendar["review"]["closed_on"]
        for f in t.flags:
            f_map[f["id"]] = new_flag = next(flag_ids)
            day = dates_of[f["round_id"]]["closed_on"] if f["round_id"] else review_day
            row = dict(f, id=new_flag, organisation_id=org_id,
                       round_id=r_map.get(f["round_id"]), member_id=m_map.get(f["member_id"]),
                       raised_on=day, decided_on=day if f["decided_on"] else None,
                       summary=f["summary"].replace(t.name, name))
            flags.append(tuple(row[c] for c in flag_cols))
        if in_period(i):
            for a in t.audit:
                if a["object_type"] == "round" and int(a["object_id"]) in r_map:
                    old = int(a["object_id"])
                    new_id = r_map[old]
                    dates = dates_of[old]
                    day = dates["closed_on"] if a["action"] != "round.open" else dates["opened_on"]
                elif a["object_type"] == "flag" and int(a["object_id"]) in f_map:
                    new_id, day = f_map[int(a["object_id"])], review_day
                else:
                    continue
                audit.append((_moment(day), a["actor"], a["role"], a["action"], a["object_type"],
                              str(new_id), org_id, a["detail"]))
    insert_rows(Organisation.__table__, ("id", "code", "name", "type", "unit", "unit_id",
                                         "parent_id", "batch_id"), orgs)
    insert_rows(StageProgress.__table__, ("organisation_id", "campaign_id", "stage", "state"),
                progress)
    insert_rows(Member.__table__, ("id", "organisation_id", "name", "status", "active",
                                   "sort_order", "gender", "birth_month", "position",
                                   "retired"), members)
    insert_rows(Round.__table__, tuple(round_cols), rounds_)
    insert_rows(RespondentGroup.__table__, ("id", "round_id", "code", "card_count"), groups)
    insert_rows(Ballot.__table__, ("id", "round_id", "group_id", "day", "channel"), ballots)
    insert_rows(Card.__table__, ("id", "round_id", "group_id", "code_hash", "spent"), cards)
    insert_rows(Flag.__table__, tuple(flag_cols), flags)
    insert_rows(AuditEntry.__table__, ("at", "actor", "role", "action", "object_type",
                                       "object_id", "organisation_id", "detail"), audit)


def _admonish(growth: Growth) -> None:
    """集体诫勉 proposed for each unit whose confirmed yellow cards reached the campaign's
    ``admonish_after_cards`` (what ``flags.confirm`` proposes when the cards are confirmed
    one by one), where none is proposed or confirmed yet."""
    from evalsvc.extensions import db

    db.session.execute(sa.text("""
        INSERT INTO flags (kind, campaign_id, status, organisation_id, unit, summary,
                           raised_on, reason)
        SELECT 'admonishment', f.campaign_id, 'proposed', max(f.organisation_id), f.unit,
               f.unit || '：已有 ' || count(*) || ' 张黄牌，建议对领导班子集体诫勉',
               max(f.decided_on), ''
        FROM flags f JOIN campaigns c ON c.id = f.campaign_id
        WHERE f.kind = 'yellow_card' AND f.status = 'confirmed'
        GROUP BY f.campaign_id, f.unit, c.admonish_after_cards
        HAVING count(*) >= c.admonish_after_cards AND NOT EXISTS (
            SELECT 1 FROM flags a WHERE a.kind = 'admonishment' AND a.unit = f.unit
            AND a.campaign_id = f.campaign_id AND a.status != 'overridden')"""))


def database_bytes(growth: Growth) -> int:
    """pg_total_relation_size summed over the schema's tables."""
    from evalsvc.extensions import db

    with growth.app.app_context():
        return int(db.session.scalar(sa.text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')")))
