"""The organisation tree (党委 → 党总支 → 党支部) and the members of branches."""
import datetime
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evalsvc.models.base import Base, str_enum
from evalsvc.models.campaigns import (
    Batch, Stage, StageProgress, StageState, latest_campaign_id,
)


class OrgType(enum.Enum):
    """Levels of the tree, top down."""

    WORKING_COMMITTEE = "working_committee"  # 机关工委
    COMMITTEE = "committee"  # 党委
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部


class MemberStatus(enum.Enum):
    """Full members are rated in 民主评议; probationary ones vote but are not rated."""

    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员


class Gender(enum.Enum):
    """性别, as a roster states it."""

    MALE = "male"  # 男
    FEMALE = "female"  # 女


class Unit(Base):
    """A unit (单位) organisations belong to; 集体诫勉 is proposed per unit."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)

    organisations: Mapped[list["Organisation"]] = relationship(
        back_populates="unit_record", order_by="Organisation.code"
    )


class Organisation(Base):
    """A party organisation; branches hold members and run rounds."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # active_history: the report's kept totals (services/day_totals.py) need the old parent,
    # batch and type of a branch that moves, even when it was set without being read.
    type: Mapped[OrgType] = mapped_column(str_enum(OrgType), active_history=True)
    unit: Mapped[str] = mapped_column(sa.String(120), default="")  # 单位 (its name, kept)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True, active_history=True
    )
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batches.id"), index=True,
                                                 active_history=True)

    parent: Mapped["Organisation | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["Organisation"]] = relationship(
        back_populates="parent", order_by="Organisation.code"
    )
    batch: Mapped[Batch | None] = relationship()
    unit_record: Mapped[Unit | None] = relationship(back_populates="organisations")
    members: Mapped[list["Member"]] = relationship(
        back_populates="organisation", order_by="Member.id"
    )
    # Progress in the current campaign only: earlier campaigns' rows stay, untouched.
    progress: Mapped[list[StageProgress]] = relationship(
        primaryjoin=lambda: sa.and_(
            Organisation.id == StageProgress.organisation_id,
            StageProgress.campaign_id == latest_campaign_id()),
        order_by=StageProgress.id, cascade="all, delete-orphan",
    )

    @property
    def is_branch(self) -> bool:
        """Only branches have members and run rounds."""
        return self.type is OrgType.BRANCH

    def stage_state(self, stage: Stage) -> StageState:
        """State of one stage; a missing row means not started."""
        for row in self.progress:
            if row.stage is stage:
                return row.state
        return StageState.NOT_STARTED

    @property
    def current_stage(self) -> Stage:
        """The first stage not yet passed (the last one once all have passed)."""
        for stage in Stage:
            if self.stage_state(stage) is not StageState.PASSED:
                return stage
        return Stage.RECTIFY


class Member(Base):
    """A party member of a branch."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, 16), default=MemberStatus.FULL
    )
    active: Mapped[bool] = mapped_column(default=True)
    # The branch's own order (排序): ballots and lists follow it, then 姓氏笔画 order.
    sort_order: Mapped[int | None] = mapped_column()
    gender: Mapped[Gender | None] = mapped_column(str_enum(Gender, 8))
    birth_month: Mapped[datetime.date | None] = mapped_column()  # 出生年月: the 1st of the month
    position: Mapped[str] = mapped_column(sa.String(60), default="")  # 职务
    retired: Mapped[bool] = mapped_column(default=False)  # 离退休

    organisation: Mapped[Organisation] = relationship(back_populates="members")
