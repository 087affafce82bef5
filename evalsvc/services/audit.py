"""Writing to the append-only audit log, inside the caller's transaction."""
import json
from collections.abc import Iterable
from dataclasses import dataclass

from evalsvc.database import insert_rows, writes
from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Organisation, User
from evalsvc.models.base import utcnow
from evalsvc.services import day_totals
from evalsvc.services.today import local_day

CLI_ACTOR = "cli"


def record(
    actor: User | None,
    action: str,
    obj: object,
    *,
    organisation_id: int | None = None,
    system: str | None = None,
    **detail: object,
) -> AuditEntry:
    """Add an entry for ``action`` on ``obj``; the caller's commit makes it durable.

    ``actor`` None is the operator at the command line, or ``system`` (e.g. "rules").
    """
    db.session.flush()  # so a new object has its id
    entry = _entry(actor, action, obj, organisation_id, system, detail)
    db.session.add(entry)
    return entry


def record_many(actor: User | None, action: str,
                items: Iterable[tuple[object, dict[str, object]]]) -> None:
    """One entry per (object, detail): a bulk action over many objects (objects that
    already have their ids) writes them in one executemany, not one INSERT per object."""
    rows = [_values(actor, action, obj, None, None, detail) for obj, detail in items]
    if rows:
        insert_rows(AuditEntry.__table__, _COLUMNS, [tuple(r.values()) for r in rows])
        if action in day_totals.CHANGE_ACTIONS:  # the ORM did not see these rows
            day_totals.touch(db.session(), ((r["organisation_id"], local_day(r["at"]))
                                            for r in rows))


def entry(actor: User | None, action: str, obj: object, *, organisation_id: int | None = None,
          system: str | None = None, **detail: object) -> AuditEntry:
    """The entry ``record`` adds, built but not added: bulk actions add many at once
    (``obj`` must already have its id)."""
    return _entry(actor, action, obj, organisation_id, system, detail)


def _entry(actor: User | None, action: str, obj: object, organisation_id: int | None,
           system: str | None, detail: dict[str, object]) -> AuditEntry:
    return AuditEntry(**_values(actor, action, obj, organisation_id, system, detail))


_COLUMNS = ("at", "actor", "role", "action", "object_type", "object_id", "organisation_id",
            "detail")  # the keys of ``_values``, in order


def _values(actor: User | None, action: str, obj: object, organisation_id: int | None,
            system: str | None, detail: dict[str, object]) -> dict[str, object]:
    return dict(
        at=utcnow(),
        actor=actor.username if actor else system or CLI_ACTOR,
        role=actor.role.value if actor else "system" if system else "operator",
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "id", "")),
        organisation_id=organisation_id if organisation_id is not None else _org_of(obj),
        detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True),
    )


def _org_of(obj: object) -> int | None:
    """The organisation an object belongs to, for scoping the log."""
    if isinstance(obj, Organisation):
        return obj.id
    return getattr(obj, "organisation_id", None)


@writes
def record_action(actor: User | None, action: str, obj: object, **detail: object) -> None:
    """Audit an action that changes no data but matters (printing cards, exporting)."""
    record(actor, action, obj, **detail)


@dataclass(frozen=True)
class Export:
    """A document drawn from many objects (the overview, the audit log, the weekly report):
    what reading it is recorded against (object type "export", object id its name)."""

    id: str
    organisation_id: int | None = None


def record_export(actor: User | None, name: str, organisation_id: int | None = None,
                  **detail: object) -> None:
    """Audit reading a document of many objects, from the web or the command line."""
    record_action(actor, f"export.{name}", Export(name, organisation_id), **detail)
