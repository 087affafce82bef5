"""``evalsvc round``: create, open, close, cards and posters from the command line."""
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Round, RoundState


def _create(runner, *extra):
    return runner.invoke(args=["round", "create", "--org", "XW0101", "--kind", "satisfaction",
                               "--stage", "review", *extra])


def test_create_prints_the_id_alone_and_lifecycle_works(runner, demo):
    result = _create(runner, "--group", "masses=3", "--group", "党员=2")
    assert result.exit_code == 0, result.output
    round_id = int(result.output.strip())
    round_ = db.session.get(Round, round_id)
    assert {g.code.value: g.card_count for g in round_.groups} == {"masses": 3, "member": 2}
    assert runner.invoke(args=["round", "open", str(round_id)]).exit_code == 0
    result = runner.invoke(args=["round", "close", str(round_id)])
    assert result.exit_code == 0 and "0 ballot" in result.output
    db.session.expire_all()
    assert db.session.get(Round, round_id).state is RoundState.CLOSED


def test_urls_lists_one_working_card_url_a_line(runner, demo, client):
    round_id = _create(runner, "--group", "masses=4").output.strip()
    runner.invoke(args=["round", "open", round_id])
    urls = runner.invoke(args=["round", "cards", round_id, "--urls"]).output.split()
    assert len(urls) == 4 and all(u.startswith("HTTP://EVALSVC.TEST/C/") for u in urls)
    path = urls[0].split("EVALSVC.TEST", 1)[1]
    assert client.get(path).status_code == 200


def test_cards_and_poster_pdfs_are_written(runner, demo, tmp_path):
    round_id = _create(runner, "--group", "masses=9", "--poster", "50").output.strip()
    result = runner.invoke(args=["round", "cards", round_id, "--pdf", str(tmp_path / "c.pdf")])
    assert result.exit_code == 0 and "2 page" in result.output
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    result = runner.invoke(args=["round", "poster", round_id, "--pdf", str(tmp_path / "p.pdf")])
    assert result.exit_code == 0 and (tmp_path / "p.pdf").stat().st_size > 1000


def test_refusals_carry_a_reason_and_create_nothing(runner, demo):
    result = _create(runner)
    assert result.exit_code != 0 and "groups" in result.output
    result = runner.invoke(args=["round", "create", "--org", "XW0101", "--kind", "ballet",
                                 "--stage", "review", "--group", "masses=2"])
    assert result.exit_code != 0 and "kind" in result.output
    result = _create(runner, "--group", "friends=2")
    assert result.exit_code != 0 and "NAME=COUNT" in result.output
    result = runner.invoke(args=["round", "create", "--org", "NOPE", "--kind", "satisfaction",
                                 "--stage", "review", "--group", "masses=2"])
    assert result.exit_code != 0 and "NOPE" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0
    assert runner.invoke(args=["round", "open", "999"]).exit_code != 0
