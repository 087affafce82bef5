"""Bad input is refused cleanly: the right status, a clear message, nothing stored."""
import json

import pytest

from tests.helpers import SATISFACTION, counts, new_round, stored_answers
from tests.supervision.insider import sql


@pytest.mark.parametrize("extra, status", [
    ({"unknown_field": "1"}, 400),
    ({"quality": ["satisfied", "fairly"]}, 400),
    ({"nonce": ""}, 400),
    ({"advice": "坏\udcff"}, 400),
])
def test_malformed_submissions_are_refused_and_nothing_stored(client, demo, extra, status):
    round_, cards = new_round()
    data = {**SATISFACTION, "nonce": "n" * 22, **extra}
    if "advice" in extra:  # invalid UTF-8 in the body
        body = "&".join(f"{k}={v}" for k, v in {**SATISFACTION, "nonce": "n" * 22}.items())
        response = client.post(f"/C/{cards[0]}", data=body.encode() + b"&advice=%FF%FE",
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(f"/C/{cards[0]}", data=data)
    assert response.status_code == status
    assert "<h1>" in response.get_data(as_text=True)
    assert counts(round_.id) == (0, 0)


def test_oversized_body_is_413_and_stores_nothing(client, demo):
    round_, cards = new_round()
    response = client.post(f"/C/{cards[0]}", data={**SATISFACTION, "nonce": "n" * 22,
                                                  "advice": "x" * 300_000})
    assert response.status_code == 413
    assert counts(round_.id) == (0, 0)


def test_thousands_of_fields_are_refused(client, demo):
    round_, cards = new_round()
    body = "&".join(f"f{i}=1" for i in range(5000))
    response = client.post(f"/C/{cards[0]}", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 413)
    assert counts(round_.id) == (0, 0)


def test_a_free_text_over_its_limit_stores_nothing_and_one_at_it_is_packed_whole(client, demo):
    """A ballot's packed answers are bounded by its form: a text one character over the
    limit is refused with nothing stored; one at the limit is stored whole, and the packed
    value holds the answers and nothing more."""
    round_, cards = new_round()
    limit = client.application.config["FREE_TEXT_LIMIT"]
    over = client.post(f"/C/{cards[0]}", data={**SATISFACTION, "nonce": "n" * 22,
                                               "advice": "长" * (limit + 1)})
    assert over.status_code == 422
    assert counts(round_.id) == (0, 0)
    at = client.post(f"/C/{cards[0]}", data={**SATISFACTION, "nonce": "n" * 22,
                                             "advice": "长" * limit})
    assert at.status_code == 200 and counts(round_.id) == (1, 1)
    stored = stored_answers(round_.id)
    assert sorted((q, v, t) for _b, _g, q, v, t in stored) == sorted(
        [(q, v, None) for q, v in SATISFACTION.items()] + [("advice", "", "长" * limit)])
    expected = json.dumps(sorted([[q, v, None] for q, v in SATISFACTION.items()]
                                 + [["advice", "", "长" * limit]]),
                          separators=(",", ":"), ensure_ascii=False)
    assert sql("SELECT answers FROM ballots WHERE round_id = :r", r=round_.id)[0][0] == expected


def test_a_free_text_at_its_limit_as_the_browser_counts_it_is_accepted(client, demo):
    """A phone's text box counts a line break as one character (its maxlength stops the
    typing there), but the form sends it as CR LF: a comment typed up to the limit with a
    few line breaks was refused as too long, and the browser would not let its writer see
    why. Line breaks are taken as one character, and stored as LF."""
    round_, cards = new_round()
    limit = client.application.config["FREE_TEXT_LIMIT"]
    lines = ["长" * (limit // 10 - 1)] * 10  # ten lines: limit - 10 characters, 9 breaks
    typed = "\r\n".join(lines) + "完"
    assert len(typed.replace("\r\n", "\n")) == limit < len(typed)
    response = client.post(f"/C/{cards[0]}", data={**SATISFACTION, "nonce": "n" * 22,
                                                   "advice": typed})
    assert response.status_code == 200 and counts(round_.id) == (1, 1)
    texts = [t for *_rest, t in stored_answers(round_.id) if t is not None]
    assert texts == ["\n".join(lines) + "完"]
