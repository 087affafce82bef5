"""Campaigns and their batches. Many campaigns share one database: the latest started is
current; earlier ones stay readable but refuse writes."""
from datetime import date

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Batch, Campaign, Round, RoundState, Stage, User
from evalsvc.services import audit
from evalsvc.services.campaign_rules import default_requirements
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import require_office

DEFAULT_BATCHES = ("党政机关", "城镇基层和乡镇机关", "农村")
# The annual 民主评议党员: its one stage, with nothing to pass before leaving it.
SINGLE_STAGE = Stage.REVIEW


def current_campaign() -> Campaign | None:
    """The most recently started campaign."""
    return db.session.scalar(sa.select(Campaign).order_by(Campaign.id.desc()).limit(1))


def list_campaigns() -> list[dict]:
    """Every campaign, oldest first, saying which one is current."""
    current = current_campaign()
    return [{"id": c.id, "name": c.name, "year": c.start_year, "end_year": c.end_year,
             "single_stage": c.single_stage, "current": current is not None and c.id == current.id}
            for c in db.session.scalars(sa.select(Campaign).order_by(Campaign.id))]


@writes
def create_campaign(
    actor: User | None, name: str, start_year: int, end_year: int,
    batch_names: tuple[str, ...] = DEFAULT_BATCHES, single_stage: bool = False,
) -> Campaign:
    """A campaign with its batches, the default rule settings and stage requirements; it
    becomes the current one. A taken name is refused and nothing is stored."""
    if actor is not None:
        require_office(actor)
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "请填写活动名称"
    elif db.session.scalar(sa.select(Campaign.id).where(Campaign.name == name)) is not None:
        errors["name"] = f"活动名称“{name}”已被使用，请换一个名称"
    still_open = _open_rounds()
    if still_open:
        errors["rounds"] = f"当前活动还有 {still_open} 次测评正在进行，请先结束后再开始新的活动"
    if not 1949 <= start_year <= end_year <= 2200:
        errors["year"] = "年份不正确（结束年份不能早于开始年份）"
    if errors:
        raise Invalid(errors)
    # Which kinds each stage requires is the campaign's own data, seeded from the kinds;
    # a single-stage campaign has no stage gate at all.
    requirements = ({s.value: [] for s in Stage} if single_stage
                    else default_requirements())
    campaign = Campaign(name=name, start_year=start_year, end_year=end_year,
                        stage_requirements=requirements, single_stage=single_stage)
    campaign.batches = [Batch(number=i, name=n) for i, n in enumerate(batch_names, start=1)]
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor, "campaign.create", campaign, name=name, single_stage=single_stage)
    return campaign


def _open_rounds() -> int:
    """Rounds of the current campaign still open: a new campaign would strand them."""
    current = current_campaign()
    if current is None:
        return 0
    return db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(
        Round.campaign_id == current.id, Round.state == RoundState.OPEN))


def ensure_campaign(name: str | None = None, year: int | None = None) -> Campaign:
    """The current campaign, creating a default one on an empty database."""
    campaign = current_campaign()
    if campaign is None:
        year = year or date.today().year
        campaign = create_campaign(None, name or "党内集中教育活动", year, year + 1)
    return campaign


def require_current(campaign_id: int | None, current: Campaign | None = None) -> None:
    """Refuse a write to a round, flag or stage of an earlier campaign (read-only now).
    ``current``: the current campaign, when the caller (a bulk action) has it already."""
    current = current or current_campaign()
    if campaign_id is not None and current is not None and campaign_id != current.id:
        earlier = db.session.get(Campaign, campaign_id)
        raise Invalid({"campaign": f"“{earlier.name}”已不是当前活动，其测评、警示和阶段"
                                   f"只能查阅，不能修改"})


def batch_by_number(number: int) -> Batch | None:
    """A batch of the current campaign, by its number (1, 2, 3)."""
    campaign = current_campaign()
    if campaign is None:
        return None
    return db.session.scalar(
        sa.select(Batch).where(Batch.campaign_id == campaign.id, Batch.number == number)
    )
