"""Paper ballots (纸质测评票): double-keyed entry of returned sheets.

A returned sheet counts only when two key-ins by different staff agree. The first key-in
is held in ``paper_entries`` under an HMAC of the card code (``sheet``) with the answers;
the staff member is held only as an HMAC of the sheet and their user id (``keyer``), which
tells "the same person again" from "someone else" and names nobody.

When a key-in agrees with a held one by someone else, ONE write transaction spends the
card, stores ballot, answers and receipt exactly as a phone ballot (channel "paper"), and
deletes every held key-in of the sheet. Nothing stored links sheet, card and ballot, and
the audit log says only "entered a paper sheet for round X". What is left until the close:
on PostgreSQL the deleted rows' dead versions carry the same transaction id as the ballot
(as the spent card's does, for a phone ballot); on SQLite the write-ahead log holds the
transaction's pages. The close deletes the round's remaining key-ins (never agreed, never
counted), rewrites its ballots, and clears the traces (``services.traces`` includes this
table): CLUSTER on PostgreSQL, a rewritten file and truncated write-ahead log on SQLite.

A disagreement stays held and is listed (``disputed``) for a third look: a key-in by a
third person that agrees with one of the held ones counts the sheet and drops the rest.
The same person keying a sheet twice is refused, nothing stored.

Who may enter: whoever may print the round's credentials (``printing.may_print``): the
office, or the branch's secretary where the office delegated printing. They hold the sheets.
"""
import hashlib
import hmac
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import Card, PaperEntry, RespondentGroup, Round, RoundState, User
from evalsvc.services import audit, ballots, codes, printing
from evalsvc.services.packed import AnswerRows

WAITING, COUNTED, DISPUTED = "waiting", "counted", "disputed"
NOT_OPEN = {RoundState.DRAFT: "本次测评尚未开始，纸质票不能录入。",
            RoundState.CLOSED: "本次测评已经结束，纸质票不能再录入，这张票不计入结果。"}
UNKNOWN = "没有找到这个测评卡代码，请核对纸质票上的代码后重新输入或扫描。"
OTHER_ROUND = "这张纸质票不属于本次测评，请核对测评名称。"
SPENT = ("这张测评卡已经使用过（已通过手机提交，或这张纸质票已录入并计入），"
         "不能再录入；本次录入未保存。")
SAME_KEYER = "您已录入过这张纸质票。双人录入须由另一位工作人员再录入一次；本次录入未保存。"


class PaperRefused(Exception):
    """The key-in was not stored; ``message`` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Dispute:
    """A sheet whose key-ins disagree: where to find it and what to look at again."""

    mark: str  # the code's last four characters, as printed on the sheet
    group: str
    entries: int
    questions: list[str]


def _mac(message: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sheet_of(round_id: int, code: str) -> str:
    """What the held key-ins know of a sheet's card: an HMAC under the server's secret."""
    return _mac(f"evalsvc/paper-sheet/{round_id}/{code}")


def _keyer(sheet: str, user: User) -> str:
    return _mac(f"evalsvc/paper-keyer/{sheet}/{user.id}")


def _canonical(rows: AnswerRows) -> str:
    return json.dumps(sorted([q, v, t or ""] for q, v, t in rows), ensure_ascii=False,
                      separators=(",", ":"))


def check_sheet(actor: User, round_: Round, code: str) -> None:
    """Raise PaperRefused unless ``code`` is an unspent card of this open round."""
    printing.require_printer(actor, round_)
    if round_.state is not RoundState.OPEN:
        raise PaperRefused(NOT_OPEN[round_.state])
    found = ballots.find_card(code)
    if found is None:
        raise PaperRefused(UNKNOWN)
    if found.round.id != round_.id:
        raise PaperRefused(OTHER_ROUND)
    if found.spent:
        raise PaperRefused(SPENT)


def enter_sheet(actor: User, round_: Round, code: str, rows: AnswerRows) -> str:
    """Key in one sheet; returns WAITING, COUNTED or DISPUTED, or raises PaperRefused.

    One write transaction of its own (as ``services.ballots``), then the audit entry in
    another: the entry must not share the ballot's transaction.
    """
    check_sheet(actor, round_, code)
    rows = [(q, v, t or "") for q, v, t in rows]
    outcome = _enter(round_.id, code, _keyer(sheet_of(round_.id, code), actor), rows)
    audit.record_action(actor, "round.paper_entry", round_)
    return outcome


def _enter(round_id: int, code: str, keyer: str, rows: list) -> str:
    sheet, answers = sheet_of(round_id, code), _canonical(rows)
    with ballots.write_transaction() as conn:
        # Wait for a close in progress (PostgreSQL: share lock on the round row), then
        # take the card row: key-ins of one sheet run one after another.
        state = conn.execute(sa.select(Round.state).where(Round.id == round_id)
                             .with_for_update(read=True)).scalar()
        if state is not RoundState.OPEN:
            raise PaperRefused(NOT_OPEN.get(state, NOT_OPEN[RoundState.CLOSED]))
        card = conn.execute(sa.select(Card.spent, Card.group_id).where(
            Card.code_hash == codes.hash_code(code), Card.round_id == round_id)
            .with_for_update()).first()
        if card is None:
            raise PaperRefused(OTHER_ROUND)
        if card.spent:
            raise PaperRefused(SPENT)
        held = conn.execute(sa.select(PaperEntry.keyer, PaperEntry.answers).where(
            PaperEntry.round_id == round_id, PaperEntry.sheet == sheet)).all()
        if any(k == keyer for k, _ in held):
            raise PaperRefused(SAME_KEYER)
        if any(a == answers for _, a in held):
            _count(conn, round_id, code, card.group_id, sheet, rows)
            return COUNTED
        conn.execute(sa.insert(PaperEntry), {
            "id": secrets.token_hex(16), "round_id": round_id, "sheet": sheet,
            "keyer": keyer, "group_id": card.group_id, "mark": code[-4:],
            "answers": answers})
        return DISPUTED if held else WAITING


def _count(conn, round_id: int, code: str, group_id: int, sheet: str, rows: list) -> None:
    """Spend the card, drop the sheet's held key-ins, store the ballot: one transaction."""
    spent = conn.execute(sa.update(Card).where(
        Card.code_hash == codes.hash_code(code), Card.round_id == round_id,
        Card.spent.is_(False)).values(spent=True)).rowcount
    if spent != 1:
        raise PaperRefused(SPENT)
    conn.execute(sa.delete(PaperEntry).where(PaperEntry.round_id == round_id,
                                             PaperEntry.sheet == sheet))
    receipt = codes.receipt_code(current_app.config["SECRET_KEY"], round_id, code, "paper")
    ballots.store_paper_ballot(conn, round_id, group_id, rows, receipt)


def discard_pending(conn, round_id: int) -> int:
    """Delete the round's held key-ins (inside the closing transaction): never counted."""
    return conn.execute(sa.delete(PaperEntry).where(PaperEntry.round_id == round_id)).rowcount


def waiting_count(round_: Round) -> int:
    """Sheets keyed in once, waiting for a second person."""
    per_sheet = _entries_per_sheet(round_)
    return sum(1 for entries in per_sheet.values() if len(entries) == 1)


def disputed(round_: Round, question_labels: dict[str, str]) -> list[Dispute]:
    """Sheets whose key-ins disagree, with the questions on which they differ."""
    groups = {g.id: label(g.code) for g in db.session.scalars(
        sa.select(RespondentGroup).where(RespondentGroup.round_id == round_.id))}
    found = []
    for entries in _entries_per_sheet(round_).values():
        if len(entries) < 2:
            continue
        answers = [_by_question(json.loads(e.answers)) for e in entries]
        keys = sorted(set().union(*answers))
        differing = [question_labels.get(k, k) for k in keys
                     if len({tuple(a.get(k, ())) for a in answers}) > 1]
        found.append(Dispute(entries[0].mark, groups.get(entries[0].group_id, ""),
                             len(entries), differing))
    return sorted(found, key=lambda d: (d.group, d.mark))


def _entries_per_sheet(round_: Round) -> dict[str, list[PaperEntry]]:
    per_sheet = defaultdict(list)
    for entry in db.session.scalars(sa.select(PaperEntry)
                                    .where(PaperEntry.round_id == round_.id)):
        per_sheet[entry.sheet].append(entry)
    return per_sheet


def _by_question(rows: list) -> dict[str, list]:
    answers = defaultdict(list)
    for question, value, text in rows:
        answers[question].append((value, text))
    return {k: sorted(v) for k, v in answers.items()}
