"""The results XLSX as the office hands it on: free-text questions by their wording, no
internal names in stray cells, the small-group note worded as on the page, shares that say
what they are over."""
import io

from openpyxl import load_workbook

from evalsvc.models import GroupCode
from evalsvc.services.rounds import layout
from tests.helpers import ballot_for, close_on_web, login, new_round


def test_results_xlsx_reads_as_the_page_does(client, demo):
    round_, cards = new_round(kind="opinion", groups={GroupCode.MASSES: 12,
                                                      GroupCode.MEMBER: 3})
    comment = next(q for q in layout(round_) if q.type == "text")
    for i, code in enumerate(cards):
        client.post(f"/C/{code}", data={**ballot_for(round_), comment.key: f"意见第{i}条"})
    login(client, "secretary")
    close_on_web(client, round_)
    book = load_workbook(io.BytesIO(client.get(f"/rounds/{round_.id}/results.xlsx").data))
    cells = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
             for c in row if c is not None]
    assert not {"participation", "grades", "items", comment.key} & set(cells)
    opinions = list(book["意见"].iter_rows(values_only=True))
    assert {row[0] for row in opinions[1:]} == {comment.text}
    notes = " ".join(c for c in cells if "不予显示" in c)
    assert "不足 5 份或为防止推算" in notes
    assert "参与情况" in cells  # the chart's caption, in Chinese
    assert book["结果"]["D1"].value.startswith("比例（选项：占本题作答")
