"""Batches (批次) of the current campaign: their order and dates, and the window a round
opens in. Outside its batch's window a round opens only when the office overrides, in
writing; the override is stored on the round and audited."""
from datetime import date

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Batch, Campaign, Organisation, Role, Round, User
from evalsvc.services import audit
from evalsvc.services.campaigns import current_campaign, require_current
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import require_office


def batch_of(org: Organisation, campaign: Campaign | None = None) -> Batch | None:
    """The current campaign's batch with the organisation's batch number (batches are
    numbered alike in every campaign, so an organisation keeps its batch). ``campaign``:
    the current one, when the caller has it already."""
    if org.batch_id is None:
        return None
    campaign = campaign or current_campaign()
    if org.batch is None or campaign is None:
        return None
    if org.batch.campaign_id == campaign.id:
        return org.batch
    return db.session.scalar(sa.select(Batch).where(
        Batch.campaign_id == campaign.id, Batch.number == org.batch.number))


def window_text(batch: Batch) -> str:
    """The batch's window in Chinese, e.g. 2026-03-01 至 2026-06-30."""
    start = batch.starts_on.isoformat() if batch.starts_on else "不限"
    end = batch.ends_on.isoformat() if batch.ends_on else "不限"
    return f"{start} 至 {end}"


def outside_window(org: Organisation, on: date, campaign: Campaign | None = None) -> Batch | None:
    """The organisation's batch when ``on`` falls outside its window, else None."""
    batch = batch_of(org, campaign)
    if batch is None:
        return None
    if (batch.starts_on and on < batch.starts_on) or (batch.ends_on and on > batch.ends_on):
        return batch
    return None


def check_window(actor: User | None, batch: Batch | None, reason: str) -> None:
    """Refuse to open outside the batch's window (``batch``: what ``outside_window``
    found, None when inside) unless the office gives a reason (changes nothing:
    ``record_override`` stores it once the round opens)."""
    if batch is None:
        return
    if actor is not None and actor.role is not Role.OFFICE:
        raise Invalid({"window": f"{batch.name}批次的测评时间为 {window_text(batch)}，"
                                 f"今天不在其中：只有先教办可以写明理由后破例开始"})
    if not reason.strip():
        raise Invalid({"window": f"{batch.name}批次的测评时间为 {window_text(batch)}，"
                                 f"今天不在其中：破例开始须写明理由"})


def record_override(actor: User | None, round_: Round, batch: Batch | None,
                    reason: str) -> None:
    """Store and audit the override of a round ``check_window`` let open outside its
    batch's window (no commit; nothing when it opens inside, ``batch`` None)."""
    if batch is None or not reason.strip():
        return
    round_.window_override = reason.strip()
    db.session.add(audit.entry(actor, "round.window_override", round_, batch=batch.number,
                               window=window_text(batch), reason=round_.window_override))


@writes
def set_window(actor: User | None, batch: Batch, starts_on: date | None,
               ends_on: date | None) -> Batch:
    """The office sets a batch's dates (either may stay open)."""
    if actor is not None:
        require_office(actor)
    require_current(batch.campaign_id)
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid({"ends_on": "结束日期不能早于开始日期"})
    batch.starts_on, batch.ends_on = starts_on, ends_on
    audit.record(actor, "batch.window", batch, starts_on=starts_on, ends_on=ends_on)
    return batch
