"""Staff accounts and their scope."""
import enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from evalsvc.models.base import Base, str_enum
from evalsvc.models.organisations import Organisation


class Role(enum.Enum):
    """What a staff account may do."""

    OFFICE = "office"  # 先教办: everything
    SUPERVISOR = "supervisor"  # 督导组: assigned organisations, read-only
    SECRETARY = "secretary"  # 支部书记: one branch


supervisor_scope = sa.Table(
    "supervisor_scope",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "organisation_id",
        sa.ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class User(UserMixin, Base):
    """A staff account. Respondents never have one."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(60), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(default=True)

    branch: Mapped[Organisation | None] = relationship()
    assigned: Mapped[list[Organisation]] = relationship(
        secondary=supervisor_scope, order_by=Organisation.code
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'secretary') = (branch_id IS NOT NULL)", name="secretary_has_branch"
        ),
    )

    def set_password(self, password: str, method: str = "scrypt") -> None:
        """Store a salted hash, never the password (services/users.py ends the sessions)."""
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True when the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Disabled accounts cannot log in."""
        return self.active
