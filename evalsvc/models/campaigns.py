"""Campaigns, their batches, and each organisation's progress through the stages."""
import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evalsvc.models.base import Base, str_enum


class Stage(enum.Enum):
    """The three stages every organisation goes through, in order."""

    STUDY = "study"  # 学习动员
    REVIEW = "review"  # 分析评议
    RECTIFY = "rectify"  # 整改提高

    @property
    def index(self) -> int:
        """Position of the stage, 0-based."""
        return list(Stage).index(self)


class StageState(enum.Enum):
    """Where an organisation stands within one stage."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    AWAITING_REVIEW = "awaiting_review"
    PASSED = "passed"


class Campaign(Base):
    """One campaign (e.g. 先进性教育活动 2005-2006) with its rule thresholds."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    start_year: Mapped[int]
    end_year: Mapped[int]
    # Rule settings; defaults from DOMAIN.md.
    satisfaction_threshold: Mapped[float] = mapped_column(default=0.60)
    stage_pass_threshold: Mapped[float] = mapped_column(default=0.60)
    unqualified_threshold: Mapped[float] = mapped_column(default=0.50)  # 不合格 share
    excellent_cap: Mapped[float] = mapped_column(default=1 / 3)  # 优秀 share of full members
    min_cell: Mapped[int] = mapped_column(default=5)  # smallest breakdown shown
    min_text_cell: Mapped[int] = mapped_column(default=10)  # smallest free-text list shown
    admonish_after_cards: Mapped[int] = mapped_column(default=2)  # yellow cards → 集体诫勉
    # Each kind's own settings, keyed by kind name (see evalsvc.kinds.settings): data, so
    # a new kind's threshold needs no migration. NULL until the office sets one.
    kind_settings: Mapped[dict | None] = mapped_column(sa.JSON)
    # Stage → the kinds whose latest round must have passed before the stage is left.
    # NULL: what the installed kinds declare (``Kind.required_in``).
    stage_requirements: Mapped[dict | None] = mapped_column(sa.JSON)
    # The annual 民主评议党员 outside a concentrated campaign: one stage, no stage gate.
    single_stage: Mapped[bool] = mapped_column(default=False)

    batches: Mapped[list["Batch"]] = relationship(
        back_populates="campaign", order_by="Batch.number"
    )

    __table_args__ = (
        sa.CheckConstraint("start_year <= end_year", name="years_ordered"),
        # An index, not a constraint: SQLite adds it without rebuilding the table.
        sa.Index("uq_campaigns_name", "name", unique=True),
    )


def latest_campaign_id() -> sa.ScalarSelect:
    """The current campaign (the latest started) as a subquery, for relationship joins."""
    return sa.select(sa.func.max(Campaign.id)).scalar_subquery()


class Batch(Base):
    """One of a campaign's batches (批次), e.g. 党政机关."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(60))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]

    campaign: Mapped[Campaign] = relationship(back_populates="batches")

    __table_args__ = (sa.UniqueConstraint("campaign_id", "number"),)


class StageProgress(Base):
    """An organisation's state within one stage; the stage-gate rules move it."""

    __tablename__ = "stage_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # Each campaign starts every organisation's stages afresh.
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, 12))
    state: Mapped[StageState] = mapped_column(
        str_enum(StageState), default=StageState.NOT_STARTED
    )

    __table_args__ = (sa.UniqueConstraint("campaign_id", "organisation_id", "stage"),)
