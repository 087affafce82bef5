"""Make-up records (补课记录): several lines, dated no earlier than the 补课 was confirmed, and
the supervision group comments on them."""
from datetime import timedelta

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Decision, Flag, FlagKind
from tests.helpers import login

NOTE = "11月28日 支部全体党员集中学习\n逐户走访群众 12 户\n整改台账已更新"


def _make_up() -> Flag:
    return db.session.scalar(sa.select(Flag).where(
        Flag.kind == FlagKind.MAKE_UP, Flag.status == Decision.CONFIRMED))


def test_a_make_up_record_is_multi_line_dated_and_commented(client, demo_rounds):
    flag = _make_up()
    org = flag.organisation_id
    login(client, "office")
    page = client.get(f"/orgs/{org}").get_data(as_text=True)
    assert f'<textarea id="make-up-note-{flag.id}"' in page
    early = (flag.decided_on - timedelta(days=1)).isoformat()
    page = client.post(f"/flags/{flag.id}/make-up", data={"note": NOTE, "on": early},
                       follow_redirects=True).get_data(as_text=True)
    assert "补课日期不能早于确认补课的日期" in page
    db.session.refresh(flag)
    assert flag.make_up_on is None
    page = client.post(f"/flags/{flag.id}/make-up",
                       data={"note": NOTE, "on": flag.decided_on.isoformat()},
                       follow_redirects=True).get_data(as_text=True)
    assert "的补课情况" in page and NOTE in page  # lines kept, shown with pre-wrap
    client.post("/logout")

    login(client, "supervisor")
    page = client.post(f"/flags/{flag.id}/make-up-comment",
                       data={"comment": "走访记录应附群众签字"},
                       follow_redirects=True).get_data(as_text=True)
    assert "补课记录的意见" in page and "走访记录应附群众签字" in page and "第一督导组" in page
    client.post("/logout")
    login(client, "office")  # only the supervision group comments
    client.post(f"/flags/{flag.id}/make-up-comment", data={"comment": "先教办代填"})
    db.session.refresh(flag)
    assert flag.make_up_comment == "走访记录应附群众签字"


def test_a_make_up_dated_after_today_is_refused(client, demo_rounds):
    from evalsvc.services.today import today

    flag = _make_up()
    login(client, "office")
    later = (today() + timedelta(days=40)).isoformat()
    page = client.post(f"/flags/{flag.id}/make-up", data={"note": NOTE, "on": later},
                       follow_redirects=True).get_data(as_text=True)
    assert "补课日期不能晚于今天" in page
    db.session.refresh(flag)
    assert flag.make_up_on is None


def test_a_make_up_recorded_again_drops_the_comment_on_the_old_record(client, demo_rounds):
    flag = _make_up()
    login(client, "office")
    client.post(f"/flags/{flag.id}/make-up", data={"note": NOTE, "on": flag.decided_on.isoformat()})
    client.post("/logout")
    login(client, "supervisor")
    client.post(f"/flags/{flag.id}/make-up-comment", data={"comment": "走访记录应附群众签字"})
    client.post("/logout")
    login(client, "office")
    page = client.post(f"/flags/{flag.id}/make-up",
                       data={"note": "补充了群众签字的走访记录", "on": flag.decided_on.isoformat()},
                       follow_redirects=True).get_data(as_text=True)
    db.session.refresh(flag)
    assert flag.make_up_note == "补充了群众签字的走访记录" and flag.make_up_comment is None
    assert "走访记录应附群众签字" not in page  # the comment read the old record, not this one
