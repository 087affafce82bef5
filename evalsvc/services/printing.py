"""Printing a round's credentials (card PDF, card URL list, poster): one path for web and CLI.

Whoever holds a round's cards can cast them. So only the office prints and lists them,
unless it delegates printing for one round to the branch (an audited switch), and every
printing is recorded in the audit log and shown on the round's page. The command line
is the operator's, with the office's rights; it is audited the same way (actor "cli").
"""
import ipaddress
import itertools
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import AuditEntry, RespondentGroup, Role, Round, RoundState, User
from evalsvc.services import audit, codes, rounds
from evalsvc.services.errors import Forbidden, OutOfScope
from evalsvc.services.scope import in_scope, require_office, require_writer

# What each printing action hands out, as shown on the round's page.
PRINT_ACTIONS = {
    "round.print_cards": "测评卡（PDF）",
    "round.list_card_urls": "测评卡链接清单",
    "round.print_poster": "公开二维码海报（PDF）",
    "round.print_paper": "纸质测评票（PDF）",
}
DELEGATE_ACTION = "round.delegate_printing"
NOT_DELEGATED = ("测评卡和海报由先教办统一印制。如确需本支部自行印制，"
                 "请先教办在本次测评页面开启“委托支部印制”。")


@dataclass(frozen=True)
class Printing:
    """One line of a round's printing record."""

    at: datetime
    actor: str
    role: str
    what: str
    cards: int | None


def may_print(user: User | None, round_: Round) -> bool:
    """True when ``user`` (None: the operator at the command line) may print this round."""
    if user is None:
        return True
    if not in_scope(user, round_.organisation_id):
        return False
    return user.role is Role.OFFICE or (user.role is Role.SECRETARY and round_.print_delegated)


def require_printer(user: User | None, round_: Round) -> None:
    """Raise unless ``user`` may print: 404 outside the scope, 403 with the reason inside."""
    if user is None:
        return
    require_writer(user, round_.organisation_id)
    if not may_print(user, round_):
        raise Forbidden(NOT_DELEGATED)


def card_pdf(actor: User | None, round_: Round, out: BinaryIO) -> tuple[int, int]:
    """Write every card of the round, freshly shuffled, as an A4 PDF; returns (cards, pages)."""
    from evalsvc.render.cards import CardFace, cards_pdf

    require_printer(actor, round_)
    public = current_app.config["PUBLIC_URL"]
    faces = [CardFace(codes.card_url(public, code), codes.display_code(code),
                      card_label(round_, group)) for group, code in _cards(round_)]
    pages = cards_pdf(round_.title, faces, out, typed_url=f"{public.rstrip('/')}/c")
    audit.record_action(actor, "round.print_cards", round_, cards=len(faces), pages=pages)
    return len(faces), pages


def card_label(round_: Round, group: RespondentGroup) -> str:
    """The group and the attempt, as every card shows them (e.g. 群众代表 第2次)."""
    return f"{label(group.code)} 第{round_.attempt}次"


def loopback_warning() -> str | None:
    """A warning (in Chinese) when printed cards would point at this machine only."""
    public = current_app.config["PUBLIC_URL"]
    host = urlsplit(public).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        return None
    return (f"卡片和海报上的网址 {public} 是本机地址，其他人的手机无法打开。"
            "请将 EVALSVC_PUBLIC_URL 设置为对外可访问的地址后再印制。")


@dataclass(frozen=True)
class BatchPrinted:
    """What one batch PDF held."""

    rounds: int
    cards: int
    pages: int


def batch_card_pdf(actor: User | None, selection, out: BinaryIO) -> BatchPrinted:
    """One PDF of the cards of every open round of a selection (services/bulk_rounds):
    by branch, then round, then group (党员, 群众代表, 服务对象), each branch after its
    发放登记 sheet. Only the office prints a batch (delegation is per round); each round
    printed gets its own audit entry, as when it is printed alone."""
    from evalsvc.render.batch_cards import batch_cards_pdf
    from evalsvc.services.bulk_rounds import rounds_in

    if actor is not None:
        require_office(actor)
    printed = [r for r in rounds_in(selection, RoundState.OPEN)
               if any(g.card_count for g in r.groups)]
    if not printed:
        raise OutOfScope(f"open rounds of {selection.describe()}")
    public = current_app.config["PUBLIC_URL"]
    pages = batch_cards_pdf(f"测评卡（{selection.describe()}）", _branch_parts(printed, public),
                            out, typed_url=f"{public.rstrip('/')}/c")
    _audit_batch(actor, printed, selection.describe(), pages)
    return BatchPrinted(len(printed), sum(_card_count(r) for r in printed), pages)


def _branch_parts(printed: list[Round], public: str):
    """The file's parts, one per branch, drawn lazily (rounds come sorted by branch)."""
    from evalsvc.render.batch_cards import BranchPart, Deck

    for _org_id, group_of_rounds in itertools.groupby(printed, key=lambda r: r.organisation_id):
        decks = []
        for round_ in group_of_rounds:
            for group in sorted(round_.groups, key=lambda g: rounds.CARD_GROUPS.index(g.code)
                                if g.code in rounds.CARD_GROUPS else 99):
                if group.card_count:
                    decks.append(Deck(str(round_.id), round_.title, round_.attempt,
                                      label(group.code), group.card_count,
                                      _faces(round_, group, public)))
        yield BranchPart(round_.organisation.name, decks)


def _faces(round_: Round, group: RespondentGroup, public: str):
    """One group's cards in a fresh random order, made when the deck is drawn."""
    from evalsvc.render.cards import CardFace

    group_codes = list(rounds.group_codes(round_, group))
    secrets.SystemRandom().shuffle(group_codes)
    text = card_label(round_, group)
    for code in group_codes:
        yield CardFace(codes.card_url(public, code), codes.display_code(code), text)


def _card_count(round_: Round) -> int:
    return sum(g.card_count for g in round_.groups)


@writes
def _audit_batch(actor: User | None, printed: list[Round], selection: str, pages: int) -> None:
    """One entry per round printed, all in one commit."""
    for round_ in printed:
        audit.record(actor, "round.print_cards", round_, cards=_card_count(round_),
                     batch=selection, file_pages=pages)


def card_urls(actor: User | None, round_: Round) -> list[str]:
    """Every card URL of the round (every credential): audited like a printing."""
    require_printer(actor, round_)
    public = current_app.config["PUBLIC_URL"]
    urls = [codes.card_url(public, code) for _group, code in _cards(round_)]
    audit.record_action(actor, "round.list_card_urls", round_, cards=len(urls))
    return urls


def paper_pdf(actor: User | None, round_: Round, out: BinaryIO) -> tuple[int, int]:
    """Write the round's questionnaire as one A4 paper form per card (纸质测评票), each with
    its card's QR code and code; returns (sheets, pages). Audited like the card PDF."""
    from evalsvc.questionnaires import definition_at
    from evalsvc.render.paper import Sheet, paper_pdf as render

    require_printer(actor, round_)
    if round_.state is RoundState.CLOSED:
        raise Forbidden("测评已经结束，不能再印制纸质测评票")
    public = current_app.config["PUBLIC_URL"]
    sheets = [Sheet(codes.card_url(public, code), codes.display_code(code), label(group.code))
              for group, code in _cards(round_)]
    chosen = definition_at(round_.definition_name, round_.definition_version)
    pages = render(round_.title, chosen.intro if chosen else None, rounds.layout(round_),
                   sheets, out)
    audit.record_action(actor, "round.print_paper", round_, cards=len(sheets), pages=pages)
    return len(sheets), pages


def _cards(round_: Round):
    cards = rounds.card_codes(round_)
    if not cards:
        raise OutOfScope(f"cards of round {round_.id}")
    return cards


def poster_note(round_: Round) -> str:
    """The line printed under the poster's QR code, with the cap when there is one."""
    cap = f"，限 {round_.poster_cap} 票" if round_.poster_cap else ""
    return f"本测评为开放式扫码参与，不是一人一票{cap}。每台手机限提交一次。"


def poster_pdf(actor: User | None, round_: Round, out: BinaryIO) -> None:
    """Write the round's open poster as an A4 PDF."""
    from evalsvc.render.cards import poster_pdf as render

    require_printer(actor, round_)
    if not round_.is_poster:
        raise OutOfScope(f"poster of round {round_.id}")
    render(round_.title, codes.poster_url(current_app.config["PUBLIC_URL"], round_.poster_token),
           out, note=poster_note(round_))
    audit.record_action(actor, "round.print_poster", round_, cap=round_.poster_cap)


@writes
def set_delegation(actor: User | None, round_: Round, delegated: bool) -> None:
    """The office lets the branch print this round's cards and poster, or takes it back."""
    if actor is not None:
        require_office(actor)
    if round_.print_delegated != delegated:
        round_.print_delegated = delegated
        audit.record(actor, DELEGATE_ACTION, round_, delegated=delegated)


def printings(round_: Round) -> list[Printing]:
    """Who printed or listed this round's credentials, when, and how many cards, oldest first."""
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.object_type == "round", AuditEntry.object_id == str(round_.id),
               AuditEntry.action.in_([*PRINT_ACTIONS, DELEGATE_ACTION]))
        .order_by(AuditEntry.at, AuditEntry.id))
    return [_printing(entry) for entry in entries]


def _printing(entry: AuditEntry) -> Printing:
    detail = json.loads(entry.detail or "{}")
    if entry.action == DELEGATE_ACTION:
        what = "开启委托支部印制" if detail.get("delegated") else "收回委托支部印制"
    else:
        what = PRINT_ACTIONS[entry.action]
    role = label(Role(entry.role)) if entry.role in {r.value for r in Role} else "运维命令行"
    return Printing(at=entry.at, actor=entry.actor, role=role, what=what,
                    cards=detail.get("cards"))
