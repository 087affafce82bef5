"""A bounded fuzz of the ballot endpoint: any form data gets a clean answer, never a 5xx,
and only a complete valid ballot is stored."""
from hypothesis import HealthCheck, given, settings
from werkzeug.datastructures import MultiDict
from hypothesis import strategies as st

from tests.helpers import counts, new_round

KEYS = ["quality", "organisation", "service", "work", "overall", "advice", "nonce", "x",
        "quality[]", ""]
VALUES = st.one_of(st.sampled_from(["satisfied", "fairly", "unknown", "", "满意"]),
                   st.text(max_size=40), st.text(max_size=600))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=14))
def test_generated_form_data_never_breaks_the_endpoint(client, demo, pairs):
    round_, cards = fuzz_round()
    before = counts(round_.id)
    response = client.post(f"/C/{cards[0]}", data=MultiDict(pairs),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 400, 409, 413, 415, 422), response.status_code
    stored = counts(round_.id)
    if response.status_code == 200:
        assert stored == (before[0] + 1, before[1] + 1)
        complete = {k for k, v in pairs if k and v}
        assert {"quality", "organisation", "service", "work", "overall", "nonce"} <= complete
    else:
        assert stored == before


_CACHE: dict = {}


def fuzz_round():
    """One round (with many cards) per app, so the fuzz stays fast."""
    from flask import current_app

    from evalsvc.models import GroupCode

    key = id(current_app._get_current_object())
    if key not in _CACHE:
        _CACHE.clear()
        round_, cards = new_round(groups={GroupCode.MASSES: 150})
        _CACHE[key] = (round_, cards)
    round_, cards = _CACHE[key]
    cards.append(cards.pop(0))  # each example gets a fresh card
    return round_, cards[-1:]
