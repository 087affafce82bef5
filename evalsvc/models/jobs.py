"""Long work run off the request: one row per job, the source of truth for its state."""
import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from evalsvc.models.base import Base, str_enum, utcnow


class JobState(enum.Enum):
    """queued → running → done or failed; a failed job may be submitted again."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """One piece of long work (a big close, a bulk action, a batch card PDF, an export).

    Whichever worker runs it (RQ's or the local one polling this table), this row says what
    it is, who asked, how far it got, how it ended, and where its file is. A running job's
    worker touches ``heartbeat_at``; a job whose heartbeat stopped is failed, not stuck.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))  # what the job page calls it (Chinese)
    params: Mapped[str] = mapped_column(sa.Text)  # JSON: the job function's arguments
    state: Mapped[JobState] = mapped_column(str_enum(JobState, 12), default=JobState.QUEUED,
                                            index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    progress: Mapped[int] = mapped_column(default=0)  # per cent
    message: Mapped[str | None] = mapped_column(sa.Text)  # the outcome, or why it failed
    result_file: Mapped[str | None] = mapped_column(sa.String(200))  # under instance/jobs/
    result_name: Mapped[str | None] = mapped_column(sa.String(200))  # download name
    result_mimetype: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
