"""Campaigns and their batches."""
from datetime import date

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Batch, Campaign, User
from evalsvc.services import audit
from evalsvc.services.campaign_rules import default_requirements

DEFAULT_BATCHES = ("党政机关", "城镇基层和乡镇机关", "农村")


def current_campaign() -> Campaign | None:
    """The most recently created campaign."""
    return db.session.scalar(sa.select(Campaign).order_by(Campaign.id.desc()).limit(1))


@writes
def create_campaign(
    actor: User | None, name: str, start_year: int, end_year: int,
    batch_names: tuple[str, ...] = DEFAULT_BATCHES,
) -> Campaign:
    """A campaign with its batches, the default rule settings and stage requirements."""
    # Which kinds each stage requires is the campaign's own data, seeded from the kinds.
    campaign = Campaign(name=name, start_year=start_year, end_year=end_year,
                        stage_requirements=default_requirements())
    campaign.batches = [Batch(number=i, name=n) for i, n in enumerate(batch_names, start=1)]
    db.session.add(campaign)
    audit.record(actor, "campaign.create", campaign, name=name)
    return campaign


def ensure_campaign(name: str | None = None, year: int | None = None) -> Campaign:
    """The current campaign, creating a default one on an empty database."""
    campaign = current_campaign()
    if campaign is None:
        year = year or date.today().year
        campaign = create_campaign(None, name or "党内集中教育活动", year, year + 1)
    return campaign


def batch_by_number(number: int) -> Batch | None:
    """A batch of the current campaign, by its number (1, 2, 3)."""
    campaign = current_campaign()
    if campaign is None:
        return None
    return db.session.scalar(
        sa.select(Batch).where(Batch.campaign_id == campaign.id, Batch.number == number)
    )
