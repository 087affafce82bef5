"""Bad input is refused cleanly: the right status, a clear message, nothing stored."""
import pytest

from tests.helpers import SATISFACTION, counts, new_round


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
