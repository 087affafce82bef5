"""The day, in the campaign's time zone: the finest time a ballot records."""
from datetime import date, datetime, timedelta, timezone

from flask import current_app, has_app_context


def today() -> date:
    """Today's date where the campaign runs (UTC+8 unless configured otherwise)."""
    return now().date()


def now() -> datetime:
    """The time where the campaign runs: for "updated at" notes, never stored with ballots."""
    hours = current_app.config.get("UTC_OFFSET_HOURS", 8) if has_app_context() else 8
    return datetime.now(timezone(timedelta(hours=hours)))
