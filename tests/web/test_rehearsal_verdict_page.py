"""A rehearsal's results page: practice ballots, no verdict for the office to decide."""
from evalsvc.extensions import db
from tests.helpers import login
from tests.services.test_verdict_review import failed_rehearsal


def test_a_rehearsals_page_offers_the_office_no_decision(app, demo, client):
    practice = failed_rehearsal()
    db.session.commit()
    login(client, "office")
    page = client.get(f"/rounds/{practice.id}").get_data(as_text=True)
    assert "不作判定" in page and "确认规则建议" not in page
