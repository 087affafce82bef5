"""The weekly report's 整改提高 sections: the period's briefs, who is overdue with one,
and the plan items past their deadline (回头看)."""
from functools import partial

from evalsvc.services import briefs, plans
from evalsvc.services.scope import visible_ids


def add_rectification(report, user, listed: int | None = None):
    """Fill the report's briefs, missing briefs and overdue items for the user's scope.
    The briefs are those the user may read on the briefs page (a supervisor: her own and
    her organisations', not another group's). Of who has not sent a brief, the first
    ``listed`` and how many there are (the XLSX reads them all)."""
    report.briefs = briefs.visible_briefs(user, report.start, report.end)
    report.missing_briefs = briefs.missing(report.end, visible_ids(user), listed)
    report.missing_count = briefs.missing_count(report.end, visible_ids(user)) \
        if listed is not None and len(report.missing_briefs) >= listed \
        else len(report.missing_briefs)
    report.all_missing = partial(briefs.missing, report.end, visible_ids(user))
    report.overdue_items = plans.overdue_items(visible_ids(user), on=report.end)
    return report
