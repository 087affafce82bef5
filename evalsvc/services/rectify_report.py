"""The weekly report's 整改提高 sections: the period's briefs, who is overdue with one,
and the plan items past their deadline (回头看)."""
from evalsvc.services import briefs, plans
from evalsvc.services.scope import visible_ids


def add_rectification(report, user, org_ids: set[int] | None):
    """Fill the report's briefs, missing briefs and overdue items for the user's scope.
    The briefs are those the user may read on the briefs page (a supervisor: her own and
    her organisations', not another group's)."""
    report.briefs = briefs.visible_briefs(user, report.start, report.end)
    report.missing_briefs = briefs.missing(report.end, org_ids)
    report.overdue_items = plans.overdue_items(visible_ids(user), on=report.end)
    return report
