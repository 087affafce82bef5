"""The weekly report workbook's 整改提高 sheets: the period's briefs, who has not sent one,
and the plan items past their deadline (回头看)."""
from evalsvc.glossary import label
from evalsvc.render.exports import Sheet


def rectification_sheets(report) -> list[Sheet]:
    """Three sheets, from what ``services.rectify_report`` put into the report."""
    return [
        Sheet("信息简报", ("日期", "报送单位", "标题", "撰稿人"),
              [(b.brief_date, b.organisation.name if b.organisation else "督导组", b.title,
                b.author) for b in report.briefs]),
        Sheet("未报送简报", ("单位或督导组", "类别"),
              [(m.name, m.kind) for m in report.every_missing_brief()]),
        Sheet("逾期整改事项", ("组织", "存在问题", "责任人", "整改时限", "状态"),
              [(i.plan.organisation.name, i.problem, i.responsible, i.deadline,
                label(i.status)) for i in report.overdue_items]),
    ]
