"""公示: an organisation's public page, reached without login by a random token. It shows
the approved 整改方案 with each item's progress, and the closed rounds the office has
published: the same suppressed result staff see, free text only when a setting allows it.
A page with nothing to show is, to the public, the same as an unknown one (404)."""
import secrets
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import (
    Decision, PlanState, PublicPage, RectificationPlan, Round, RoundState, User,
)
from evalsvc.services import audit
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import require_office
from evalsvc.services.today import today
from evalsvc.tally import ItemResult


def ensure_page(org_id: int, campaign_id: int) -> PublicPage:
    """The organisation's page in the campaign, made (with a fresh token) on first need."""
    page = page_of(org_id, campaign_id)
    if page is None:
        page = PublicPage(organisation_id=org_id, campaign_id=campaign_id,
                          token=secrets.token_urlsafe(8), created_on=today())
        db.session.add(page)
        db.session.flush()
    return page


def page_of(org_id: int, campaign_id: int | None = None) -> PublicPage | None:
    """The organisation's page (in the current campaign unless one is named)."""
    if campaign_id is None:
        from evalsvc.services.campaigns import current_campaign

        campaign = current_campaign()
        campaign_id = campaign.id if campaign else None
    return db.session.scalar(sa.select(PublicPage).where(
        PublicPage.organisation_id == org_id, PublicPage.campaign_id == campaign_id))


def public_url(page: PublicPage) -> str:
    """The short URL printed under the poster's QR code."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/g/{page.token}"


@writes
def publish(actor: User, round_: Round) -> Round:
    """Show a closed round's result on its organisation's public page (office only)."""
    require_office(actor)
    if round_.state is not RoundState.CLOSED or round_.rehearsal:
        raise Invalid({"round": "只有已结束的正式测评可以公示结果"})
    if round_.result_published:
        raise Invalid({"round": "该测评结果已经公示"})
    round_.result_published = True
    page = ensure_page(round_.organisation_id, round_.campaign_id)
    audit.record(actor, "round.publish_result", round_, page=page.id)
    return round_


@writes
def withdraw(actor: User, round_: Round) -> Round:
    """Take a published result off the public page (office only)."""
    require_office(actor)
    if not round_.result_published:
        raise Invalid({"round": "该测评结果没有公示"})
    round_.result_published = False
    audit.record(actor, "round.withdraw_result", round_)
    return round_


@dataclass
class PublicRound:
    """What the public sees of a published round."""

    title: str
    closed_on: date | None
    took_place_only: bool  # below the threshold: only that it took place
    ballots: int | None = None
    rate_label: str = ""
    item_rate_label: str = ""
    rate: float | None = None
    verdict: str = ""  # the office's confirmed verdict, else empty
    items: list[ItemResult] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


@dataclass
class PublicItem:
    """A plan item as the public sees it, with its results in published rounds."""

    problem: str
    measures: str
    responsible: str
    deadline: date
    status: object
    notes: list[tuple[date, str]]
    results: list[tuple[str, ItemResult, str]]  # (round title, item's result, rate label)
    overdue: bool


@dataclass
class PublicView:
    """Everything the public page shows."""

    org_name: str
    plan_approved_on: date | None
    items: list[PublicItem]
    changes: list[tuple[date, str]]
    rounds: list[PublicRound]


def view(token: str) -> PublicView | None:
    """The public page for a token; None when unknown or when nothing is (any longer)
    published, which the web layer turns into the same 404."""
    from evalsvc.services.plan_changes import changes
    from evalsvc.services.results import result_of

    page = db.session.scalar(sa.select(PublicPage).where(PublicPage.token == token))
    if page is None:
        return None
    plan = db.session.scalar(sa.select(RectificationPlan).where(
        RectificationPlan.organisation_id == page.organisation_id,
        RectificationPlan.campaign_id == page.campaign_id,
        RectificationPlan.state == PlanState.APPROVED))
    published = db.session.scalars(sa.select(Round).where(
        Round.organisation_id == page.organisation_id, Round.campaign_id == page.campaign_id,
        Round.result_published.is_(True), Round.state == RoundState.CLOSED)
        .order_by(Round.closed_on, Round.id)).all()
    if plan is None and not published:
        return None
    shown = [(r, result_of(r)) for r in published]
    rounds = [_public_round(r, result) for r, result in shown]
    items = [_public_item(i, shown) for i in plan.items] if plan else []
    return PublicView(page.organisation.name, plan.decided_on if plan else None, items,
                      changes(plan) if plan else [], rounds)


def _public_round(round_: Round, result) -> PublicRound:
    if result is None or result.suppressed:
        return PublicRound(round_.title, round_.closed_on, took_place_only=True)
    verdict = ""
    if round_.verdict_status in (Decision.CONFIRMED, Decision.OVERRIDDEN) \
            and result.verdict_words:
        verdict = result.verdict_words[0 if round_.passed else 1] \
            if round_.passed is not None else ""
    comments = [t for texts in result.comments.values() for t in texts] \
        if current_app.config.get("PUBLIC_FREE_TEXT") else []
    return PublicRound(round_.title, round_.closed_on, False, result.ballots,
                       result.rate_label, result.item_rate_label, result.rate, verdict,
                       [i for i in result.items if i.type != "text"], comments)


def _public_item(item, shown) -> PublicItem:
    from evalsvc.models import ItemStatus
    from evalsvc.services.rounds import PLAN_ITEM_KEY

    key = PLAN_ITEM_KEY.format(item.id)
    results = [(r.title, i, result.item_rate_label) for r, result in shown if result and not result.suppressed
               for i in result.items if i.key == key]
    return PublicItem(item.problem, item.measures, item.responsible, item.deadline,
                      item.status, [(n.noted_on, n.text) for n in item.notes], results,
                      item.deadline < today() and item.status is not ItemStatus.DONE)
