"""One definition of a share: 9 不满意, 1 不了解 and 2 满意 of 12 ballots read 75 %, 8.3 % and
16.7 % on the page, in the chart, the XLSX, the CSV and the JSON, adding up to 100 %."""
import csv
import io
import re
import secrets

import openpyxl
import pytest

from evalsvc.extensions import db
from evalsvc.models import GroupCode
from evalsvc.render import charts
from evalsvc.services import ballots, closing, rounds
from evalsvc.services.results import result_of, tally_document
from tests.helpers import login, new_round

EXPECTED = {"满意": 2 / 12, "比较满意": 0.0, "基本满意": 0.0, "不满意": 9 / 12,
            "不了解": 1 / 12}


def _round():
    round_, codes = new_round(kind="stage_review", groups={GroupCode.MASSES: 12})
    answers = ["dissatisfied"] * 9 + ["unknown"] + ["satisfied"] * 2
    for code, answer in zip(codes, answers):
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), [
            (q.key, answer if q.rated else "satisfied", "")
            for q in rounds.layout(round_) if q.type == "choice"])
    closing.close_round(None, round_)
    db.session.commit()
    return round_


def _check(shares: dict[str, float]):
    assert sum(shares.values()) == pytest.approx(1.0, abs=0.001)
    for label, share in EXPECTED.items():
        assert shares[label] == pytest.approx(share, abs=0.0005), label


def _percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


def test_every_renderer_shows_the_same_shares_adding_up_to_100(client, demo):
    round_ = _round()
    result = result_of(round_)
    overall = next(i for i in result.items if i.rated)
    _check({o.label: o.share for o in overall.options})  # the stored result
    _check({o.label: charts._share(overall, o.value) for o in overall.options})  # chart
    document = tally_document(round_, result)  # JSON
    _check({o["label"]: o["share"] for o in next(
        i for i in document["items"] if i["key"] == overall.key)["options"]})
    assert overall.rate == pytest.approx(2 / 11)  # the rate stays over valid answers

    login(client, "office")
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    section = page[page.index(f"<h3>{overall.text}</h3>"):]
    section = section[:section.index("</table>")]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>\d+</td><td>([\d.]+%)</td></tr>", section)
    _check({label: _percent(share) for label, share in rows})

    text = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    csv_rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff")))
                if len(r) > 4 and r[1] == overall.text and r[2] in EXPECTED]
    _check({r[2]: _percent(r[4]) for r in csv_rows})

    workbook = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/rounds/{round_.id}/results.xlsx").data))
    _check({r[1]: r[3] for r in workbook["结果"].iter_rows(values_only=True)
            if r[0] == overall.text and r[1] in EXPECTED})
