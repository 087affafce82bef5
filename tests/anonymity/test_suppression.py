"""Small groups stay hidden in every view and export, including by subtraction."""
import csv
import io
import json
import secrets

from openpyxl import load_workbook

from evalsvc.models import GroupCode
from evalsvc.services import ballots, closing
from tests.helpers import login, new_round


def _cast(round_, codes, overall):
    rows = [("quality", "satisfied", ""), ("organisation", "satisfied", ""),
            ("service", "satisfied", ""), ("work", "satisfied", ""), ("overall", overall, "")]
    for code in codes:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)


def test_a_small_group_and_its_complement_are_hidden_everywhere(client, runner, demo):
    from evalsvc.services.rounds import card_codes

    round_, _ = new_round(groups={GroupCode.MEMBER: 12, GroupCode.MASSES: 3,
                                  GroupCode.SERVICE: 8})
    by_group = {}
    for group, code in card_codes(round_):
        by_group.setdefault(group.code, []).append(code)
    _cast(round_, by_group[GroupCode.MEMBER], "satisfied")
    _cast(round_, by_group[GroupCode.MASSES], "dissatisfied")  # the 3 the county must not see
    _cast(round_, by_group[GroupCode.SERVICE], "fairly")
    closing.close_round(None, round_)

    document = json.loads(runner.invoke(args=["round", "tally", str(round_.id), "--json"])
                          .output)
    groups = {g["code"]: g for g in document["groups"]}
    assert groups["member"]["suppressed"] is False and groups["member"]["items"]
    for hidden in ("masses", "service"):
        assert groups[hidden]["suppressed"] is True
        assert groups[hidden]["items"] == [] and groups[hidden]["satisfaction_rate"] is None
    # Round total minus the shown group mixes masses and service: 3 dissatisfied + 8 fairly.
    overall = next(i for i in document["items"] if i["key"] == "overall")
    counts = {o["value"]: o["count"] for o in overall["options"]}
    assert counts["dissatisfied"] == 3 and counts["fairly"] == 8

    login(client, "secretary")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert html.count("不足 5 份或为防止推算，不予显示") == 2
    text = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if row and ("群众代表" in row[0] or "服务对象" in row[0]):
            assert all(not c.isdigit() or c in ("3", "8") for c in row[3:4]), row
    book = load_workbook(io.BytesIO(client.get(f"/rounds/{round_.id}/results.xlsx").data))
    group_sheet = book["分组"]
    for row in group_sheet.iter_rows(min_row=2, values_only=True):
        if row[0] in ("群众代表", "服务对象"):
            shown = [c for c in row[3:] if isinstance(c, (int, float))]
            assert shown == [], row


def test_two_tiny_groups_are_not_revealed_by_subtracting_the_big_one():
    from evalsvc.tally import suppressed_groups

    # 党员 10, 群众代表 1, 服务对象 1: total − 党员 would show the two tiny groups together.
    assert suppressed_groups({1: 10, 2: 1, 3: 1}, 5) == {1, 2, 3}
    # Hidden groups that together reach 5 need nothing more.
    assert suppressed_groups({1: 10, 2: 3, 3: 2, 4: 9}, 5) == {2, 3}
    # One small group always takes the next smallest with it.
    assert suppressed_groups({1: 12, 2: 3, 3: 8}, 5) == {2, 3}
    assert suppressed_groups({1: 12, 2: 0, 3: 8}, 5) == {2}
    assert suppressed_groups({1: 12, 2: 7}, 5) == set()


def test_closing_leaves_no_trace_of_which_card_cast_which_ballot(app, demo):
    """SQLite: the write-ahead log, where each ballot's commit sat beside its card, is
    truncated. PostgreSQL: every row was rewritten by the closing transaction."""
    import os

    import sqlalchemy as sa

    from evalsvc.extensions import db

    round_, cards = new_round(groups={GroupCode.MASSES: 8})
    _cast(round_, cards[:6], "satisfied")
    db.session.commit()
    closing.close_round(None, round_)
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        wal = db.engine.url.database + "-wal"
        assert not os.path.exists(wal) or os.path.getsize(wal) == 0
    else:
        for table in ("ballots", "receipts", "cards"):
            writers = db.session.execute(sa.text(
                f"SELECT count(DISTINCT xmin::text) FROM {table} WHERE round_id = :r"),
                {"r": round_.id}).scalar()
            assert writers == 1, table
