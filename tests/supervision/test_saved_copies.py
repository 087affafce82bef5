"""The digest is printed on the published receipt list and on every export of a round's
results, so a supervisor's saved copy can be checked with ``evalsvc verify ID --digest``,
even after an insider has rewritten the round and its digest."""
import io
import json
import re
from datetime import timedelta

from openpyxl import load_workbook

from evalsvc.services import receipts
from evalsvc.services.today import today
from tests.helpers import login
from tests.helpers import closed_satisfaction_round
from tests.supervision.insider import column, reseal_as_insider, set_answer, sql

HEX = re.compile(r"\b[0-9a-f]{64}\b")


def _cells(data: bytes, sheet: str | None = None) -> str:
    book = load_workbook(io.BytesIO(data))
    sheets = [book[sheet]] if sheet else book.worksheets
    return " ".join(str(v) for s in sheets for row in s.iter_rows(values_only=True)
                    for v in row if v is not None)


def _saved_copies(client, runner, round_id: int) -> dict[str, str]:
    """Each place the digest is printed, as a supervisor would save it."""
    login(client, "supervisor")
    start, end = (today() - timedelta(days=6)).isoformat(), today().isoformat()
    tally = runner.invoke(args=["round", "tally", str(round_id), "--json"])
    return {
        "receipt list": client.get(f"/receipts/{round_id}").get_data(as_text=True),
        "results.csv": client.get(f"/rounds/{round_id}/results.csv").get_data(as_text=True),
        "results.xlsx": _cells(client.get(f"/rounds/{round_id}/results.xlsx").data),
        "weekly.xlsx": _cells(client.get(f"/reports/weekly.xlsx?from={start}&to={end}").data,
                              "封存摘要"),
        "tally --json": json.loads(tally.output)["digest"],
    }


def test_every_saved_copy_carries_the_digest_and_checks_against_it(client, runner, demo):
    round_ = closed_satisfaction_round()
    receipts.publish(None, round_)
    sealed = round_.digest
    for where, text in _saved_copies(client, runner, round_.id).items():
        assert HEX.findall(text) == [sealed], where
    result = runner.invoke(args=["verify", str(round_.id), "--digest", sealed])
    assert result.exit_code == 0, result.output

    # An insider rewrites answers, then the stored result and the digest in the row.
    set_answer(round_.id, "overall", "dissatisfied")
    reseal_as_insider(round_.id)
    forged = column(round_.id, "digest")
    assert forged != sealed
    result = runner.invoke(args=["verify", str(round_.id), "--digest", sealed])
    assert result.exit_code == 1
    assert (f"round {round_.id}: digest differs from the copy checked: given {sealed}, "
            f"recomputed {forged}") in result.output
