"""Ballots (each with its answers) and the round's receipt list.

A ballot holds its round, its respondent group, its answers and its day: nothing that
links it to a card, a device, a person, or a moment finer than the day. Ids are random
and the tables are keyed by them (SQLite: WITHOUT ROWID), so storage order is id order,
not arrival order. Receipts live in their own table with no reference to any ballot.
A ballot's answers are one packed value (``services.packed``), so a ballot is one row.
"""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from evalsvc.models.base import Base


class Ballot(Base):
    """One accepted questionnaire."""

    __tablename__ = "ballots"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("respondent_groups.id", ondelete="CASCADE"))
    day: Mapped[date]
    # How it arrived: "phone" (a card scanned and answered) or "paper" (a double-keyed
    # paper sheet). Shown as a breakdown of its own; sealed with the ballot.
    channel: Mapped[str] = mapped_column(sa.String(8), default="phone",
                                         server_default="phone")
    # Its answers, packed: canonical JSON of [[question, value, text], ...] sorted by
    # question and value (services.packed); the very list the seal hashes.
    answers: Mapped[str] = mapped_column(sa.Text, server_default="[]")

    __table_args__ = (
        # channel too: counts by group and by channel read the index, not the wide rows
        sa.Index("ix_ballots_round_group", "round_id", "group_id", "channel"),
        {"sqlite_with_rowid": False},
    )


class Receipt(Base):
    """A receipt code in a round's receipt list: proof a ballot was counted, not which."""

    __tablename__ = "receipts"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)

    __table_args__ = {"sqlite_with_rowid": False}


class PaperEntry(Base):
    """One key-in of a returned paper sheet, held until a second key-in agrees with it.

    ``sheet`` is an HMAC of the card code under the server's secret (never the code or its
    stored hash), ``keyer`` an HMAC of the sheet and the staff member (so two key-ins by one
    person are told apart from two by different people without naming anyone). The rows of
    a sheet are deleted in the transaction that spends its card and stores its ballot; the
    rows of a round still pending at close are deleted by the close: they never count.
    ``mark`` is the code's last four characters, printed on the sheet, so a disputed sheet
    can be found in the pile.
    """

    __tablename__ = "paper_entries"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"))
    sheet: Mapped[str] = mapped_column(sa.String(64))
    keyer: Mapped[str] = mapped_column(sa.String(64))
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("respondent_groups.id", ondelete="CASCADE"))
    mark: Mapped[str] = mapped_column(sa.String(8))
    answers: Mapped[str] = mapped_column(sa.Text)  # canonical JSON of the answer rows

    __table_args__ = (
        sa.Index("ix_paper_entries_round_sheet", "round_id", "sheet"),
        {"sqlite_with_rowid": False},
    )
