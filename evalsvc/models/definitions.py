"""Questionnaire definitions the office edited on the web: drafts and published versions."""
import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from evalsvc.models.base import Base, str_enum, utcnow


class VersionState(enum.Enum):
    """A draft is only previewed; a published version is offered to new rounds."""

    DRAFT = "draft"
    PUBLISHED = "published"


class DefinitionVersion(Base):
    """One version of a questionnaire, as the TOML text the office wrote. The files in
    ``forms/`` stay the built-in versions; the newest published row wins over them."""

    __tablename__ = "definition_versions"
    __table_args__ = (sa.UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int]
    source: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[VersionState] = mapped_column(str_enum(VersionState, 12),
                                                default=VersionState.DRAFT)
    created_by: Mapped[str] = mapped_column(sa.String(60))
    created_on: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(sa.String(60))
    published_on: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
