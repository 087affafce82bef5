"""Demo rounds with ballots, so a newcomer finds results, flags and a yellow card to click."""
import random
import secrets
import tomllib
from pathlib import Path

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.kinds import registry
from evalsvc.models import Decision, Flag, FlagKind, GroupCode, Organisation, Round, Stage, User
from evalsvc.services import ballots, closing, flags, rounds

PLAN_FILE = Path(__file__).with_name("demo_rounds.toml")


def plan() -> list[dict]:
    """The demo's rounds (``demo_rounds.toml``) whose kinds are installed."""
    rows = tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))["rounds"]
    return [row for row in rows if row["kind"] in registry()]


def load_demo_rounds(seed: int = 2006) -> None:
    """Run the planned rounds, then let the office confirm one branch's 补课 and yellow card."""
    rng = random.Random(seed)
    by_code = dict(db.session.execute(sa.select(Organisation.code, Organisation.id)).all())
    for row in plan():
        code, used, favour = row["branch"], row["used"], row["favour"]
        groups = {GroupCode(group): n for group, n in row["cards"].items()}
        round_ = rounds.create_round(None, rounds.RoundData(
            by_code[code], row["kind"], Stage(row["stage"]), groups))
        rounds.open_round(None, round_)
        # Group by group (card order is random): the same answers go to the same group on
        # every install, so the demo's verdicts do not depend on the draw.
        cards = sorted(rounds.card_codes(round_), key=lambda card: card[0].id)
        for _group, card in cards[:round(len(cards) * used)]:
            ballots.cast_card_ballot(round_.id, card, secrets.token_urlsafe(16),
                                     _answers(round_, rng, favour))
        if row["close"]:
            closing.close_round(None, round_)
    _office_confirms(by_code["XW020101"])


def _answers(round_: Round, rng: random.Random, favour: float):
    for q in rounds.layout(round_):
        if q.type == "choice":
            positive = [o for o in q.options if o.positive]
            negative = [o for o in q.options if not o.positive]
            pool = positive if rng.random() < favour or not negative else negative
            yield (q.key, rng.choice(pool).value, "")
        elif q.type == "multi":
            for option in rng.sample(q.options, rng.randint(1, 2)):
                yield (q.key, option.value, "")
        elif q.type == "text" and not q.member_id and rng.random() < 0.6:
            yield (q.key, "", rng.choice(COMMENTS))


def _office_confirms(org_id: int) -> None:
    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    failed = db.session.scalar(sa.select(Round).where(
        Round.organisation_id == org_id, Round.passed.is_(False),
        Round.verdict_status == Decision.PROPOSED))
    flags.confirm_verdict(office, failed, "转段测评满意率偏低，同意补课")
    card = db.session.scalar(sa.select(Flag).where(
        Flag.organisation_id == org_id, Flag.kind == FlagKind.YELLOW_CARD))
    flags.confirm(office, card, "首次转段未达标")


COMMENTS = [
    "希望支部多深入群众，听取意见。", "学习形式可以更灵活一些。", "党员服务窗口办事效率还需提高。",
    "建议公开整改进度，接受群众监督。", "部分党员学习笔记流于形式。", "希望多开展结对帮扶活动。",
    "建议加强对年轻党员的教育管理。", "对整改情况总体满意。", "会议太多，落实不够。",
    "希望领导干部带头解决实际问题。", "群众反映的道路问题希望尽快解决。", "支部活动要注重实效。",
]
