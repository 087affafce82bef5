"""Rounds of a questionnaire, their respondent groups, and the single-use cards."""
import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evalsvc.models.base import Base, str_enum
from evalsvc.models.campaigns import Stage
from evalsvc.models.flags import Decision
from evalsvc.models.organisations import Organisation


class RoundState(enum.Enum):
    """draft → open → closed; questions are frozen when a round opens."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class GroupCode(enum.Enum):
    """Who a card is issued to; tallies can be broken down by group."""

    MEMBER = "member"  # 党员
    MASSES = "masses"  # 群众代表
    SERVICE = "service"  # 服务对象
    PUBLIC = "public"  # anyone scanning an open poster


class Round(Base):
    """One run of a questionnaire for one branch in one stage."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    # active_history (here and on closed_on): the old values of a changed round, for the
    # report's kept totals (services/day_totals.py).
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True,
                                                 active_history=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, 12))
    kind: Mapped[str] = mapped_column(sa.String(40))
    definition_name: Mapped[str] = mapped_column(sa.String(40))
    # The definition's version when the round was created (None: the built-in file).
    definition_version: Mapped[int | None]
    attempt: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[RoundState] = mapped_column(str_enum(RoundState, 12),
                                              default=RoundState.DRAFT)
    # The laid-out questions (with the member list), frozen as JSON when the round opens.
    layout_json: Mapped[str | None] = mapped_column(sa.Text)
    poster_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    poster_cap: Mapped[int | None]
    poster_used: Mapped[int] = mapped_column(default=0)
    created_on: Mapped[date]
    opened_on: Mapped[date | None]
    closed_on: Mapped[date | None] = mapped_column(active_history=True)
    # When the office means the round to close (计划结束日期); before today means overdue.
    planned_close_on: Mapped[date | None]
    # Stored when the round closes: the suppressed tally, and the proposed verdict.
    result_json: Mapped[str | None] = mapped_column(sa.Text)
    # The rule thresholds the round was decided with, frozen at close (a later change of
    # the campaign's settings must not move a sealed verdict or break its verification).
    settings_json: Mapped[str | None] = mapped_column(sa.Text)
    # The verdict, kept here and nowhere else: the outcome in force (the rules' proposal until
    # the office decides, then the decision), where it stands, and the office's reason. A
    # decided 补课 opens a MAKE_UP flag for the branch's follow-up; it holds no decision.
    passed: Mapped[bool | None]
    verdict_status: Mapped[Decision | None] = mapped_column(str_enum(Decision, 12))
    verdict_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # A rehearsal's ballots are purged before the live run; purging re-issues the cards.
    rehearsal: Mapped[bool] = mapped_column(default=False)
    # Opened outside its batch's window: the office's written reason (audited).
    window_override: Mapped[str | None] = mapped_column(sa.Text)
    card_epoch: Mapped[int] = mapped_column(default=0)
    # How its card codes are made (services/codes.py): 1 = 26 characters, 2 = 12 characters.
    code_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The seal: a SHA-256 hash chain over the ballots and receipts, taken at close.
    digest: Mapped[str | None] = mapped_column(sa.String(64))
    receipts_published: Mapped[bool] = mapped_column(default=False)
    # Only the office prints and lists cards and posters, unless it lets the branch do it
    # for this round (services/printing.py): whoever holds the cards can cast them.
    print_delegated: Mapped[bool] = mapped_column(default=False)
    # Set by the close, cleared once the database files no longer pair cards with ballots
    # (SQLite: the write-ahead log truncated; PostgreSQL: the tables rewritten).
    traces_pending: Mapped[bool] = mapped_column(default=False)
    # Questions added to the definition's for this round (one per 整改方案 item), as JSON
    # [{"key", "text", "plan_item_id"}]; laid out (and frozen) when the round opens.
    extra_items_json: Mapped[str | None] = mapped_column(sa.Text)
    # The office showed the closed round's result on the organisation's public page.
    result_published: Mapped[bool] = mapped_column(default=False)
    # Totals kept for lists and summaries, so no page recounts or re-reads stored results:
    # the cards issued (set when the round is created: its groups never change), and, at
    # close, the ballots counted and the kind's headline figures (label → proportion, JSON).
    cards_issued: Mapped[int] = mapped_column(default=0, server_default="0")
    ballots_counted: Mapped[int | None]
    figures_json: Mapped[str | None] = mapped_column(sa.Text)

    organisation: Mapped[Organisation] = relationship()
    groups: Mapped[list["RespondentGroup"]] = relationship(
        back_populates="round", order_by="RespondentGroup.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
        sa.CheckConstraint("poster_used >= 0", name="poster_used_non_negative"),
        sa.CheckConstraint("poster_cap IS NULL OR poster_used <= poster_cap",
                           name="poster_within_cap"),
        # The live view: a campaign's open rounds, by planned close date.
        sa.Index("ix_rounds_live", "campaign_id", "state", "planned_close_on"),
        # The office's waiting verdicts (passes to confirm, 补课 to decide), counted on every
        # dashboard: the few proposed rounds, not a province's every round.
        sa.Index("ix_rounds_proposed", "campaign_id", "passed", "rehearsal",
                 postgresql_where=sa.text("verdict_status = 'proposed'"),
                 sqlite_where=sa.text("verdict_status = 'proposed'")),
        # The weekly report's rounds closed in its period: a week's few, not every round.
        sa.Index("ix_rounds_closed_on", "closed_on"),
        # The scrub's retry loop in every app process looks for the few pending rounds.
        sa.Index("ix_rounds_traces_pending", "id", postgresql_where=sa.text("traces_pending"),
                 sqlite_where=sa.text("traces_pending")),
    )

    @property
    def is_poster(self) -> bool:
        """An open consultation by poster: not one-person-one-vote."""
        return self.poster_token is not None

    def group(self, code: GroupCode) -> "RespondentGroup | None":
        """The round's group with this code."""
        return next((g for g in self.groups if g.code is code), None)


class RespondentGroup(Base):
    """A group of respondents within a round, with the number of cards issued to it."""

    __tablename__ = "respondent_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    code: Mapped[GroupCode] = mapped_column(str_enum(GroupCode, 12))
    card_count: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="groups")

    __table_args__ = (
        sa.UniqueConstraint("round_id", "code"),
        sa.CheckConstraint("card_count >= 0", name="card_count_non_negative"),
    )


class Card(Base):
    """A single-use code (一人一码), stored only as its SHA-256 hash.

    Nothing here refers to the ballot a card cast, and nothing there refers back.
    """

    __tablename__ = "cards"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("respondent_groups.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    spent: Mapped[bool] = mapped_column(default=False)
