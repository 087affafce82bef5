"""Supervision opinions (督导意见): written by supervisors, read by the office and the branch."""
import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Opinion, Organisation, Role, Round, User
from evalsvc.services import audit
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.scope import in_scope
from evalsvc.services.today import today


@writes
def write(actor: User, organisation_id: int, text: str, round_: Round | None = None) -> Opinion:
    """Record an opinion on a branch or one of its rounds; supervisors only."""
    if actor.role is not Role.SUPERVISOR or not in_scope(actor, organisation_id):
        raise OutOfScope("supervisors of this organisation only")
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not organisation.is_branch:
        # Committees have no opinion list: one stored there would be read nowhere, not even
        # in the weekly report.
        raise Invalid({"text": "督导意见针对党支部或其测评填写"})
    if not text.strip() or len(text) > 2000:
        raise Invalid({"text": "督导意见不能为空，且不超过 2000 字"})
    opinion = Opinion(organisation_id=organisation_id, round_id=round_.id if round_ else None,
                      author=actor.display_name or actor.username, written_on=today(),
                      text=text.strip())
    db.session.add(opinion)
    audit.record(actor, "opinion.write", opinion)
    return opinion


def for_round(round_id: int) -> list[Opinion]:
    """Opinions on a round, oldest first."""
    return list(db.session.scalars(sa.select(Opinion).where(Opinion.round_id == round_id)
                                   .order_by(Opinion.id)))


def for_org(org_id: int) -> list[Opinion]:
    """Opinions on a branch and its rounds, newest first."""
    return list(db.session.scalars(sa.select(Opinion).where(
        Opinion.organisation_id == org_id).order_by(Opinion.id.desc())))
