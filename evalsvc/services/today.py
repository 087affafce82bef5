"""The day and the time where the campaign runs (Beijing time unless configured otherwise),
and how staff pages write them: formal dates (2026年11月30日) and local times."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def zone() -> ZoneInfo:
    """The configured time zone (the ``TIMEZONE`` setting)."""
    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() \
        else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def today() -> date:
    """Today's date where the campaign runs."""
    return now().date()


def now() -> datetime:
    """The time where the campaign runs: for "updated at" notes, never stored with ballots."""
    return datetime.now(zone())


def local(moment: datetime) -> datetime:
    """A stored moment (UTC; SQLite hands it back naive) in the campaign's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone())


def local_day(moment: datetime) -> date:
    """The local date of a stored moment."""
    return local(moment).date()


def formal_date(day: date | datetime | None) -> str:
    """A date as an official document writes it: 2026年11月30日."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = local(day).date()
    return f"{day.year}年{day.month}月{day.day}日"


def short_date(day: date) -> str:
    """A date within a report's week: 11月26日."""
    return f"{day.month}月{day.day}日"


def local_time(moment: datetime | None) -> str:
    """A stored moment as staff read it: 2026-11-30 14:05 in the campaign's time zone."""
    return "" if moment is None else local(moment).strftime("%Y-%m-%d %H:%M")


def parse_day(text: str | None) -> date | None:
    """A date typed into a staff filter (2026-11-30), or None when it is not one or lies so
    far from now (year 1, year 9999) that the local day's bounds cannot be computed."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None


def utc_start(day: date) -> datetime:
    """The UTC moment a local day begins (for filtering stored moments by local date)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=zone()).astimezone(timezone.utc)
