"""The campaign overview as rows for spreadsheets and CSV."""
from collections.abc import Iterable

from evalsvc.glossary import label
from evalsvc.kinds import reported_rate_labels
from evalsvc.models import Stage
from evalsvc.render.exports import Sheet
from evalsvc.services.dashboard import BranchRow

# As the dashboard shows them: the rules' proposal until the office decides, then 需补课.
MAKE_UP_WORDS = {"proposed": "补课（待确认）", "confirmed": "需补课"}

# What the overview workbook says under its table (the web's and the job's alike).
OVERVIEW_NOTES = ("比例单位为 %", "状态按阶段列出")


def overview_sheet(rows: Iterable[BranchRow]) -> Sheet:
    """The overview as one sheet, its rows read as the workbook is written."""
    return Sheet("总览", overview_header(), overview_rows(rows))


def overview_header() -> tuple[str, ...]:
    """The columns: per stage, one for each headline figure the kinds report (满意率…)."""
    per_stage = ("状态", "参与率", *reported_rate_labels(), "补课", "黄牌")
    return ("编码", "党支部", "上级组织", "批次",
            *(f"{label(s)}{what}" for s in Stage for what in per_stage),
            "集体诫勉", "初评不合格党员")


def overview_rows(rows: Iterable[BranchRow]):
    """One row a branch, in the order of ``overview_header()``."""
    figures = reported_rate_labels()
    for row in rows:
        cells = []
        for stage in Stage:
            cell = row.cells[stage]
            cells += [label(cell.state), _pct(cell.participation),
                      *(_pct(cell.figures.get(f)) for f in figures),
                      MAKE_UP_WORDS.get(cell.make_up, ""),
                      label(cell.yellow_card) if cell.yellow_card else ""]
        yield (row.org.code, row.org.name, row.org.parent.name if row.org.parent else "",
               row.org.batch.number if row.org.batch else "", *cells,
               label(row.admonishment) if row.admonishment else "", row.unqualified)


def _pct(value: float | None):
    return "" if value is None else round(value * 100, 1)
