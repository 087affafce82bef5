"""``evalsvc round paper ID --pdf FILE``: the same audited printing as the web."""
import json

import pypdfium2 as pdfium
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, GroupCode
from evalsvc.services import closing
from tests.helpers import new_round


def test_the_command_prints_one_sheet_per_card_and_is_audited(runner, demo, tmp_path):
    round_, codes = new_round(groups={GroupCode.MASSES: 3})
    out = tmp_path / "paper.pdf"
    result = runner.invoke(args=["round", "paper", str(round_.id), "--pdf", str(out)])
    assert result.exit_code == 0, result.output
    assert len(pdfium.PdfDocument(out.read_bytes())) == 3
    detail = db.session.scalar(sa.select(AuditEntry.detail).where(
        AuditEntry.action == "round.print_paper", AuditEntry.actor == "cli"))
    assert json.loads(detail)["cards"] == 3


def test_a_closed_round_prints_no_sheets(runner, demo, tmp_path):
    round_, _ = new_round()
    closing.close_round(None, round_)
    out = tmp_path / "paper.pdf"
    result = runner.invoke(args=["round", "paper", str(round_.id), "--pdf", str(out)])
    assert result.exit_code == 1 and "已经结束" in result.output
    assert not out.exists()
