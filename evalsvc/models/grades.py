"""组织评定: the final grade a branch gives each member after a 民主评议 round, the
office's confirmation, and the follow-up of a confirmed 不合格."""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evalsvc.models.base import Base
from evalsvc.models.organisations import Member


class MemberGrade(Base):
    """One member's final grade in one round; the grade values are the kind's own."""

    __tablename__ = "member_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    grade: Mapped[str] = mapped_column(sa.String(16))
    recorded_by: Mapped[str] = mapped_column(sa.String(60))
    recorded_on: Mapped[date]
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(60))
    confirmed_on: Mapped[date | None]
    # Follow-up of a confirmed failing grade: educate → correct (by a deadline) → outcome.
    followup: Mapped[str | None] = mapped_column(sa.String(16))
    education_note: Mapped[str | None] = mapped_column(sa.Text)
    education_on: Mapped[date | None]
    correction_note: Mapped[str | None] = mapped_column(sa.Text)
    deadline: Mapped[date | None]
    outcome_note: Mapped[str | None] = mapped_column(sa.Text)
    outcome_on: Mapped[date | None]

    member: Mapped[Member] = relationship()

    __table_args__ = (sa.UniqueConstraint("round_id", "member_id"),)

    @property
    def confirmed(self) -> bool:
        """The office has confirmed the grade; it can no longer change."""
        return self.confirmed_on is not None
