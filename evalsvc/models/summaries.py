"""Totals kept for reports: what happened each day to the branches of one committee."""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from evalsvc.models.base import Base


class DayTotals(Base):
    """One day of the branches that share a batch and a parent (党委/党总支): the figures the
    weekly report sums over its period (services/day_totals.py keeps them, in the
    transaction that changes what they count). A copy of facts held elsewhere, so no foreign
    keys: ``day_totals.rebuild`` makes the table again from the rounds, flags and audit log.

    Keyed by the parent, not the branch: a period's report reads days × batches × the
    committees in scope, however many branches they have."""

    __tablename__ = "day_totals"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    batch_id: Mapped[int | None]
    parent_id: Mapped[int | None]  # the branches' parent organisation; None: no parent
    rounds_held: Mapped[int] = mapped_column(default=0)  # closed that day, rehearsals aside
    cards: Mapped[int] = mapped_column(default=0)  # of the rounds held
    ballots: Mapped[int] = mapped_column(default=0)  # of the rounds held
    lowest: Mapped[float | None]  # the lowest headline figure of the rounds held
    flags_raised: Mapped[int] = mapped_column(default=0)  # raised that day (any status)
    flags_confirmed: Mapped[int] = mapped_column(default=0)  # confirmed that day
    # Raised that day and not overridden, by kind: 补课, 黄牌警示, 集体诫勉.
    make_up: Mapped[int] = mapped_column(default=0)
    yellow_cards: Mapped[int] = mapped_column(default=0)
    admonishments: Mapped[int] = mapped_column(default=0)
    changes: Mapped[int] = mapped_column(default=0)  # 本期变化 audit entries of that (local) day
    # The TIMEZONE ``changes`` was counted in (audit entries are stored in UTC): after a
    # change of the setting, a period holding rows of another zone is counted from the log.
    zone: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")

    __table_args__ = (
        sa.Index("ix_day_totals_day", "day", "parent_id", "batch_id"),
        sa.Index("ix_day_totals_parent", "parent_id", "day"),
    )


class CommitteeBranches(Base):
    """How many branches a parent organisation has in a batch (kept with ``DayTotals``):
    the report counts a province's branches in scope by its committees, not one by one."""

    __tablename__ = "committee_branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(index=True)
    batch_id: Mapped[int | None]
    branches: Mapped[int]
