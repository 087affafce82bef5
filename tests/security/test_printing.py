"""The insider who prints cards: only the office prints and lists a round's cards and
posters unless it delegates one round to the branch; every printing shows on the round's page;
the web and the command line print through one service and are audited alike."""
import json

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, GroupCode, Round
from evalsvc.services import printing
from tests.helpers import login
from tests.helpers import new_round


def _entries(action: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


def test_secretary_cannot_print_or_list_cards_without_delegation(client, demo):
    round_, _ = new_round(groups={GroupCode.MASSES: 5}, poster=True, poster_cap=40)
    login(client, "secretary")
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "打印测评卡" not in page and "打印公开二维码海报" not in page
    assert "未委托支部印制" in page
    for path in ("cards.pdf", "poster.pdf"):
        response = client.get(f"/rounds/{round_.id}/{path}")
        assert response.status_code == 403
        assert "由先教办统一印制" in response.get_data(as_text=True)
        assert not response.data.startswith(b"%PDF")
    assert not _entries("round.print_cards") and not _entries("round.print_poster")
    # The toggle is the office's: a secretary's attempt changes nothing.
    assert client.post(f"/rounds/{round_.id}/print-delegation",
                       data={"delegated": "1"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Round, round_.id).print_delegated is False


def test_office_delegates_one_round_and_then_the_secretary_may_print_it(client, demo):
    round_, _ = new_round()
    other, _ = new_round()
    login(client, "office")
    assert client.post(f"/rounds/{round_.id}/print-delegation",
                       data={"delegated": "1"}).status_code == 302
    client.post("/logout")
    login(client, "secretary")
    response = client.get(f"/rounds/{round_.id}/cards.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert client.get(f"/rounds/{other.id}/cards.pdf").status_code == 403  # one round only
    client.post("/logout")
    login(client, "office")
    client.post(f"/rounds/{round_.id}/print-delegation", data={"delegated": "0"})
    client.post("/logout")
    login(client, "secretary")
    assert client.get(f"/rounds/{round_.id}/cards.pdf").status_code == 403
    toggles = [json.loads(e.detail)["delegated"] for e in _entries("round.delegate_printing")]
    assert toggles == [True, False]
    assert [e.actor for e in _entries("round.delegate_printing")] == ["office", "office"]


def test_a_secretary_of_another_branch_sees_nothing_even_when_delegated(client, demo):
    round_, _ = new_round(org_code="XW0102")
    printing.set_delegation(None, round_, True)
    login(client, "secretary")
    assert client.get(f"/rounds/{round_.id}/cards.pdf").status_code == 404


def test_every_printing_is_listed_on_the_round_page_for_all_who_see_it(client, demo):
    round_, _ = new_round(groups={GroupCode.MEMBER: 3, GroupCode.MASSES: 4})
    login(client, "office")
    client.get(f"/rounds/{round_.id}/cards.pdf")
    client.post(f"/rounds/{round_.id}/print-delegation", data={"delegated": "1"})
    client.post("/logout")
    login(client, "secretary")
    client.get(f"/rounds/{round_.id}/cards.pdf")
    client.post("/logout")
    printing.card_urls(None, round_)  # the operator lists the URLs at the command line
    for role in ("office", "secretary", "supervisor"):
        login(client, role)
        page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
        record = page[page.index("印制记录"):]
        assert "县先教办（先教办）" in record and "县委办支部书记（支部书记）" in record
        assert "命令行操作员（运维命令行）" in record and "测评卡链接清单" in record
        assert record.count("<td>7</td>") == 3 and "开启委托支部印制" in record
        client.post("/logout")


def test_web_and_cli_write_the_same_audit_rows(client, runner, demo, tmp_path):
    round_, _ = new_round(groups={GroupCode.MASSES: 5}, poster=True, poster_cap=40)
    login(client, "office")
    client.get(f"/rounds/{round_.id}/cards.pdf")
    client.get(f"/rounds/{round_.id}/poster.pdf")
    result = runner.invoke(args=["round", "cards", str(round_.id), "--pdf",
                                 str(tmp_path / "c.pdf")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["round", "poster", str(round_.id), "--pdf",
                                 str(tmp_path / "p.pdf")])
    assert result.exit_code == 0, result.output
    for action in ("round.print_cards", "round.print_poster"):
        web, cli = _entries(action)
        assert (web.actor, cli.actor) == ("office", "cli")
        assert (web.object_id, web.organisation_id, web.detail) == (
            cli.object_id, cli.organisation_id, cli.detail)
    assert json.loads(cli.detail) == {"cap": 40}
    result = runner.invoke(args=["round", "cards", str(round_.id), "--urls"])
    assert len(result.output.split()) == 5
    assert json.loads(_entries("round.list_card_urls")[0].detail) == {"cards": 5}


def test_the_cli_poster_note_states_the_cap(runner, demo, tmp_path, monkeypatch):
    import evalsvc.render.cards as cards

    notes = []
    real = cards.poster_pdf
    monkeypatch.setattr(cards, "poster_pdf",
                        lambda *a, note, **k: notes.append(note) or real(*a, note=note, **k))
    round_, _ = new_round(groups={GroupCode.MASSES: 0}, poster=True, poster_cap=120)
    result = runner.invoke(args=["round", "poster", str(round_.id), "--pdf",
                                 str(tmp_path / "p.pdf")])
    assert result.exit_code == 0, result.output
    assert notes == ["本测评为开放式扫码参与，不是一人一票，限 120 票。每台手机限提交一次。"]


def test_the_poster_link_is_shown_only_to_those_who_may_print_the_poster(client, demo):
    """The poster's URL is the poster: whoever reads it can print their own QR code and vote.
    A secretary without delegation, or a supervisor, must not find it on the round's page."""
    round_, _ = new_round(groups={GroupCode.MASSES: 0}, poster=True, poster_cap=40)
    token = round_.poster_token
    for role, shown in (("secretary", False), ("supervisor", False), ("office", True)):
        login(client, role)
        page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
        assert (token in page) is shown, role
        assert "公开二维码" in page  # the round still says it has an open poster
        client.post("/logout")
    printing.set_delegation(None, round_, True)
    login(client, "secretary")
    assert token in client.get(f"/rounds/{round_.id}").get_data(as_text=True)
