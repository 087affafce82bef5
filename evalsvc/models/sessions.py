"""Server-side records of staff login sessions."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from evalsvc.models.base import Base, utcnow


class StaffSession(Base):
    """One login of one staff account: the cookie carries a random token, this row its hash.

    A request is served only while the row is not ended and neither the idle timeout nor the
    absolute lifetime has passed, so a copied cookie stops working at logout.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256 hex
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # logout, idle, lifetime, password, disabled
    end_reason: Mapped[str | None] = mapped_column(sa.String(16))
