"""What the rules propose and people decide: 补课, yellow cards, admonishment,
preliminary 不合格 members, and stage transitions."""
import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evalsvc.models.base import Base, str_enum
from evalsvc.models.campaigns import Stage
from evalsvc.models.organisations import Member, Organisation


class FlagKind(enum.Enum):
    """The kinds of proposal the rules raise."""

    MAKE_UP = "make_up"  # 补课
    YELLOW_CARD = "yellow_card"  # 黄牌警示
    ADMONISHMENT = "admonishment"  # 集体诫勉
    UNQUALIFIED = "unqualified"  # 初评不合格党员


class Decision(enum.Enum):
    """Where a proposal stands: the office confirms it, or overrides it with a reason."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"


class BranchDecision(enum.Enum):
    """What a branch decides for a member found 不合格."""

    EDUCATE = "educate"  # 帮助教育
    CORRECT = "correct"  # 限期改正
    PERSUADE = "persuade"  # 劝退
    EXPEL = "expel"  # 除名


class Flag(Base):
    """A proposal raised by the rules about a branch (or a member, or a unit)."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FlagKind] = mapped_column(str_enum(FlagKind, 16))
    # Cards and proposals never carry over into the next campaign.
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    status: Mapped[Decision] = mapped_column(str_enum(Decision, 12), default=Decision.PROPOSED)
    # active_history: the old organisation and days of a changed flag, for the report's
    # kept totals (services/day_totals.py).
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True,
                                                 active_history=True)
    stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, 12))
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"),
                                                 index=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    unit: Mapped[str] = mapped_column(sa.String(120), default="")
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    raised_on: Mapped[date] = mapped_column(active_history=True)
    decided_by: Mapped[str | None] = mapped_column(sa.String(60))
    decided_on: Mapped[date | None] = mapped_column(active_history=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # 补课: what the branch made up, and when.
    make_up_note: Mapped[str | None] = mapped_column(sa.Text)
    make_up_on: Mapped[date | None]
    # The supervision group's comment on the make-up record (督导组对补课记录的意见).
    make_up_comment: Mapped[str | None] = mapped_column(sa.Text)
    make_up_comment_by: Mapped[str | None] = mapped_column(sa.String(60))
    make_up_comment_on: Mapped[date | None]
    # 不合格: what the branch decided for the member.
    branch_decision: Mapped[BranchDecision | None] = mapped_column(str_enum(BranchDecision, 12))
    branch_note: Mapped[str | None] = mapped_column(sa.Text)
    # 集体诫勉: when and how the office carried it out.
    carried_out_on: Mapped[date | None]
    carried_out_note: Mapped[str | None] = mapped_column(sa.Text)

    organisation: Mapped[Organisation] = relationship()
    member: Mapped[Member | None] = relationship()

    @property
    def active(self) -> bool:
        """Proposed or confirmed: it still counts."""
        return self.status is not Decision.OVERRIDDEN


class TransitionState(enum.Enum):
    """A request to leave a stage: applied → reviewed by supervision → decided by the office."""

    APPLIED = "applied"
    AGREED = "agreed"  # supervision agrees
    OBJECTED = "objected"  # supervision objects, with an opinion
    APPROVED = "approved"
    RETURNED = "returned"


class Transition(Base):
    """A branch's request to move from one stage to the next (转段)."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, 12))
    state: Mapped[TransitionState] = mapped_column(str_enum(TransitionState, 12),
                                                   default=TransitionState.APPLIED)
    applied_by: Mapped[str] = mapped_column(sa.String(60))
    applied_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    reviewed_by: Mapped[str | None] = mapped_column(sa.String(60))
    reviewed_on: Mapped[date | None]
    opinion: Mapped[str] = mapped_column(sa.Text, default="")  # 督导意见
    decided_by: Mapped[str | None] = mapped_column(sa.String(60))
    decided_on: Mapped[date | None]
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    organisation: Mapped[Organisation] = relationship()


class Opinion(Base):
    """A supervision opinion (督导意见) on a round or a branch: advice, never a change."""

    __tablename__ = "opinions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"),
                                                 index=True)
    author: Mapped[str] = mapped_column(sa.String(60))
    written_on: Mapped[date]
    text: Mapped[str] = mapped_column(sa.Text)
