"""``evalsvc round create/open/close/cards --batch N | --under CODE``."""
from datetime import date, timedelta

import pypdfium2
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Round, RoundState
from evalsvc.services import batches
from evalsvc.services.campaigns import batch_by_number


def _create(runner, *selection, groups=("--group", "masses=3")):
    return runner.invoke(args=["round", "create", *selection, "--kind", "satisfaction",
                               "--stage", "review", *groups])


def _rounds() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Round))


def test_create_for_a_batch_prints_one_id_a_line(runner, demo):
    result = _create(runner, "--batch", "1")
    assert result.exit_code == 0, result.output
    ids = [int(line) for line in result.stdout.split()]
    assert len(ids) == 5 and _rounds() == 5
    assert "创建 5 次测评" in result.stderr


def test_dry_run_lists_what_and_refusals_and_creates_nothing(runner, demo):
    result = _create(runner, "--under", "XW", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "XW0101\t县委办公室党支部\t第1次\tmember=18，masses=3" in result.stdout
    assert "未创建：共乐镇新华村党支部：学习动员阶段尚未通过转段审批" in result.stderr
    assert "预览（未做任何更改）" in result.stderr
    assert _rounds() == 0


def test_refused_branches_get_nothing_and_are_named(runner, demo):
    result = _create(runner, "--under", "XW")
    assert result.exit_code == 0
    assert len(result.stdout.split()) == 5
    assert result.stderr.count("未创建：") == 7
    everything_refused = _create(runner, "--under", "XW05")
    assert everything_refused.exit_code == 1 and "未创建" in everything_refused.stderr
    assert _rounds() == 5


def test_open_and_close_in_bulk(runner, demo):
    _create(runner, "--batch", "1")
    preview = runner.invoke(args=["round", "open", "--under", "XW01", "--dry-run"])
    assert preview.exit_code == 0 and len(preview.stdout.splitlines()) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(
        Round.state == RoundState.OPEN)) == 0
    opened = runner.invoke(args=["round", "open", "--batch", "1"])
    assert opened.exit_code == 0 and len(opened.stdout.split()) == 5
    closed = runner.invoke(args=["round", "close", "--under", "XW02"])
    assert closed.exit_code == 0 and len(closed.stdout.split()) == 2
    db.session.expire_all()
    states = [r.state for r in db.session.scalars(sa.select(Round))]
    assert states.count(RoundState.CLOSED) == 2 and states.count(RoundState.OPEN) == 3


def test_planned_close_date_and_window_reason_in_bulk(runner, demo):
    day = (date.today() + timedelta(days=20)).isoformat()
    assert _create(runner, "--batch", "1", "--planned-close", day).exit_code == 0
    batches.set_window(None, batch_by_number(1), date.today() + timedelta(days=3), None)
    refused = runner.invoke(args=["round", "open", "--batch", "1"])
    assert refused.exit_code == 1 and refused.stderr.count("破例开始须写明理由") == 5
    opened = runner.invoke(args=["round", "open", "--batch", "1", "--override", "县委要求"])
    assert opened.exit_code == 0 and len(opened.stdout.split()) == 5
    db.session.expire_all()
    assert {(r.state, r.planned_close_on.isoformat(), r.window_override)
            for r in db.session.scalars(sa.select(Round))} == {(RoundState.OPEN, day, "县委要求")}
    past = _create(runner, "--under", "XW02", "--planned-close", "2020-01-01")
    assert past.exit_code == 1 and "不能早于今天" in past.output
    bad = _create(runner, "--under", "XW02", "--planned-close", "明天")
    assert bad.exit_code == 1 and "日期格式" in bad.output
    single = _create(runner, "--org", "XW0101", "--planned-close", day)
    assert single.exit_code == 2
    assert _rounds() == 5


def test_usage_errors(runner, demo):
    assert _create(runner).exit_code == 2  # no selection at all
    assert _create(runner, "--org", "XW0101", "--batch", "1").exit_code == 2
    assert _create(runner, "--batch", "1", "--under", "XW").exit_code == 2
    assert runner.invoke(args=["round", "open"]).exit_code == 2
    assert _create(runner, "--batch", "1", "--plan-items").exit_code == 2
    outside = _create(runner, "--org", "XW0101", "--plan-items")  # the review stage
    assert outside.exit_code == 2 and "rectify" in outside.output
    bad = _create(runner, "--batch", "7")
    assert bad.exit_code == 1 and "批次 7 不存在" in bad.output
    assert _rounds() == 0


def test_batch_cards_one_pdf_sorted_by_branch_with_registers(runner, demo, tmp_path):
    _create(runner, "--under", "XW0201", groups=("--group", "masses=3", "--group", "member=9"))
    runner.invoke(args=["round", "open", "--under", "XW0201"])
    pdf = tmp_path / "batch.pdf"
    result = runner.invoke(args=["round", "cards", "--under", "XW0201", "--pdf", str(pdf)])
    assert result.exit_code == 0, result.output
    # per branch: register, 2 sheets of members (9 cards), 1 sheet of masses
    document = pypdfium2.PdfDocument(str(pdf))
    texts = [page.get_textpage().get_text_range() for page in document]
    assert len(texts) == 8
    assert "发放登记" in texts[0] and "兴文中学教工第一党支部" in texts[0]
    assert "发放登记" in texts[4] and "兴文中学教工第二党支部" in texts[4]
    assert ["党员" in t for t in texts[1:4]] == [True, True, False]
    assert "群众代表 第1次" in texts[3]
    printed = db.session.scalars(sa.select(AuditEntry.object_id).where(
        AuditEntry.action == "round.print_cards"))
    assert len(set(printed)) == 2  # one entry per round printed


def test_batch_cards_without_open_rounds_is_refused(runner, demo, tmp_path):
    result = runner.invoke(args=["round", "cards", "--batch", "2", "--pdf",
                                 str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "没有进行中的测评" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_a_refused_batch_printing_leaves_an_earlier_file_alone(runner, demo, tmp_path):
    earlier = tmp_path / "cards.pdf"
    earlier.write_bytes(b"%PDF- yesterday's cards")
    result = runner.invoke(args=["round", "cards", "--batch", "2", "--pdf", str(earlier)])
    assert result.exit_code == 1 and "没有进行中的测评" in result.output
    assert earlier.read_bytes() == b"%PDF- yesterday's cards"
    assert not list(tmp_path.glob("*.partial"))  # no partial file left behind


def test_printing_warns_when_cards_point_at_this_machine(make_app, tmp_path, demo_database):
    app = make_app(PUBLIC_URL="http://127.0.0.1:5101")
    with app.app_context():
        runner = app.test_cli_runner()
        _create(runner, "--org", "XW0101")
        runner.invoke(args=["round", "open", "--under", "XW0101"])
        for args in (["round", "cards", "1", "--pdf", str(tmp_path / "one.pdf")],
                     ["round", "cards", "--under", "XW01", "--pdf", str(tmp_path / "b.pdf")]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
            assert "警告" in result.stderr and "EVALSVC_PUBLIC_URL" in result.stderr


def test_no_warning_for_a_public_address(runner, demo, tmp_path):
    round_id = _create(runner, "--org", "XW0101").stdout.strip()
    runner.invoke(args=["round", "open", round_id])
    result = runner.invoke(args=["round", "cards", round_id, "--pdf", str(tmp_path / "c.pdf")])
    assert result.exit_code == 0 and "警告" not in result.stderr
