"""整改提高: rectification plans (整改方案) and their items, the public page (公示) of an
organisation, and the weekly briefs (信息简报)."""
import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evalsvc.models.base import Base, str_enum
from evalsvc.models.organisations import Organisation


class PlanState(enum.Enum):
    """The secretary drafts, supervision reviews (advice), the office approves or returns."""

    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 待审批
    RETURNED = "returned"  # 已退回
    APPROVED = "approved"  # 已批准


class ItemStatus(enum.Enum):
    """Where a plan item stands."""

    NOT_STARTED = "not_started"  # 未开始
    IN_PROGRESS = "in_progress"  # 进行中
    DONE = "done"  # 已完成


class RectificationPlan(Base):
    """An organisation's 整改方案 in one campaign (a branch's, or a 党委's / 总支's for its
    leadership)."""

    __tablename__ = "rectification_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    state: Mapped[PlanState] = mapped_column(str_enum(PlanState, 12), default=PlanState.DRAFT)
    drafted_by: Mapped[str] = mapped_column(sa.String(60))
    drafted_on: Mapped[date]
    submitted_on: Mapped[date | None]
    # 审查: the supervision group's written opinion; advice, it decides nothing.
    review_opinion: Mapped[str] = mapped_column(sa.Text, default="")
    reviewed_by: Mapped[str | None] = mapped_column(sa.String(60))
    reviewed_on: Mapped[date | None]
    decided_by: Mapped[str | None] = mapped_column(sa.String(60))
    decided_on: Mapped[date | None]
    return_reason: Mapped[str] = mapped_column(sa.Text, default="")

    organisation: Mapped[Organisation] = relationship()
    items: Mapped[list["PlanItem"]] = relationship(
        back_populates="plan", order_by="PlanItem.id", cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("campaign_id", "organisation_id"),)


class PlanItem(Base):
    """One problem of a plan and what is done about it."""

    __tablename__ = "plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rectification_plans.id", ondelete="CASCADE"), index=True)
    # Copied from the plan, so scope and the audit log read it like any object's.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    problem: Mapped[str] = mapped_column(sa.Text)
    measures: Mapped[str] = mapped_column(sa.Text)
    responsible: Mapped[str] = mapped_column(sa.String(60))
    deadline: Mapped[date]
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus, 12),
                                               default=ItemStatus.NOT_STARTED)
    # The closed round whose shown result the problem was picked from, if any.
    source_round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rounds.id", ondelete="SET NULL"))

    plan: Mapped[RectificationPlan] = relationship(back_populates="items")
    notes: Mapped[list["ProgressNote"]] = relationship(
        back_populates="item", order_by="ProgressNote.id", cascade="all, delete-orphan")


class ProgressNote(Base):
    """A dated note on how an item is getting on."""

    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_items.id", ondelete="CASCADE"),
                                         index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    noted_on: Mapped[date]
    text: Mapped[str] = mapped_column(sa.Text)
    author: Mapped[str] = mapped_column(sa.String(60))

    item: Mapped[PlanItem] = relationship(back_populates="notes")


class PublicPage(Base):
    """An organisation's public page (公示): reached without login by a random token."""

    __tablename__ = "public_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    created_on: Mapped[date]

    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (sa.UniqueConstraint("campaign_id", "organisation_id"),)


class Brief(Base):
    """A weekly 信息简报: from a department (organisation_id set) or a supervisor (not)."""

    __tablename__ = "briefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"),
                                                        index=True)
    # The account that submitted it (copied: the brief outlives a renamed account).
    submitted_by: Mapped[str] = mapped_column(sa.String(60), index=True)
    submitter_role: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    brief_date: Mapped[date] = mapped_column(index=True)
    author: Mapped[str] = mapped_column(sa.String(60))

    organisation: Mapped[Organisation | None] = relationship()
