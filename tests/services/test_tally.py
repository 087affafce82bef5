"""Tallies of closed rounds: rule thresholds, suppression of small cells and free text,
and the JSON tally checked against an independent recount of the stored ballots."""
import json
import random
import secrets
from collections import Counter

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.services.campaign_rules import set_kind_settings
from evalsvc.models import Campaign, Decision, Flag, FlagKind, GroupCode, Round, Stage
from evalsvc.services import closing, results, rounds
from evalsvc.services.ballots import cast_card_ballot
from tests.helpers import login, new_round, stored_answers

POSITIVE = ("satisfied", "fairly", "basic")
REQUIRED_KEYS = {"round", "kind", "ballots", "groups", "items", "members",
                 "satisfaction_rate", "verdict"}


# -- helpers -------------------------------------------------------------------------------

def cast(round_, card_codes, ballots):
    """Cast each ballot (a list of answer rows) with its own card, through the real path."""
    assert len(card_codes) >= len(ballots), "not enough cards for the ballots"
    for code, rows in zip(card_codes, ballots):
        cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)


def scale_ballot(round_, overall, others="satisfied", advice=None):
    """Every choice item answered: ``overall`` on the rated item, ``others`` elsewhere."""
    rows = [(q.key, overall if q.rated else others, "")
            for q in rounds.layout(round_) if q.type == "choice"]
    if advice is not None:
        rows.append(("advice", "", advice))
    return rows


def overall_votes(positive, negative, unknown=0):
    """Answers to the rated item: positives cycle through 满意/比较满意/基本满意."""
    return ([POSITIVE[i % 3] for i in range(positive)] + ["dissatisfied"] * negative
            + ["unknown"] * unknown)


def close(round_):
    closing.close_round(None, round_)
    result = results.result_of(round_)
    assert result is not None
    return result, results.tally_document(round_, result)


def round_flags(round_, kind=None):
    query = sa.select(Flag).where(Flag.round_id == round_.id)
    if kind is not None:
        query = query.where(Flag.kind == kind)
    return list(db.session.scalars(query))


def item(result_or_doc_items, key):
    return next(i for i in result_or_doc_items if (i.key if hasattr(i, "key") else i["key"])
                == key)




def recount(round_id, group_id=None):
    """(question, value) → count, straight from the raw ballots table (plain SQL, json)."""
    return Counter((q, v) for _b, g, q, v, _t in stored_answers(round_id)
                   if v != "" and group_id in (None, g))


# -- thresholds ----------------------------------------------------------------------------

# "对活动过程中多数群众不满意的，要责令及时补课": more than half 不满意 of the valid answers.
THRESHOLD_CASES = [
    pytest.param(10, 10, 0, True, 0.50, id="exactly-half-dissatisfied-passes"),
    pytest.param(12, 8, 0, True, 0.60, id="a-minority-dissatisfied-passes"),
    pytest.param(9, 11, 0, False, 0.45, id="a-majority-dissatisfied-needs-make-up"),
    pytest.param(9, 10, 1, False, 9 / 19, id="majority-of-valid-with-unknown-needs-make-up"),
]


@pytest.mark.parametrize("kind", ["satisfaction", "stage_review"])
@pytest.mark.parametrize("positive, negative, unknown, passes, rate", THRESHOLD_CASES)
def test_a_dissatisfied_majority_proposes_make_up_and_half_does_not(
        app, demo, kind, positive, negative, unknown, passes, rate):
    round_, card_codes = new_round(kind=kind, groups={GroupCode.MASSES: 20})
    cast(round_, card_codes, [scale_ballot(round_, v)
                              for v in overall_votes(positive, negative, unknown)])
    result, doc = close(round_)

    assert result.rate == pytest.approx(rate)
    assert doc["satisfaction_rate"] == pytest.approx(rate)
    assert result.verdict["passed"] is passes
    assert result.verdict["make_up"] is (not passes)
    assert result.verdict["decidable"] is True
    assert round_.passed is passes
    # The verdict is proposed on the round; a make-up flag waits for the office's decision.
    assert round_.verdict_status is Decision.PROPOSED
    assert round_flags(round_, FlagKind.MAKE_UP) == []
    assert round_flags(round_, FlagKind.UNQUALIFIED) == []


@pytest.mark.parametrize("kind, floor_of, passes", [
    ("satisfaction", "satisfaction", False),  # 65 % is below satisfaction's floor of 70 %
    ("satisfaction", "stage_review", True),  # the stage reviews' floor does not apply
    ("stage_review", "satisfaction", True),  # satisfaction's floor does not apply to stages
    ("stage_review", "stage_review", False),  # 65 % is below the stage reviews' floor
])
def test_each_kind_is_judged_against_its_own_campaign_floor(app, demo, kind, floor_of,
                                                            passes):
    round_, card_codes = new_round(kind=kind, groups={GroupCode.MASSES: 20})
    set_kind_settings(None, db.session.get(Campaign, round_.campaign_id), floor_of,
                      {"satisfaction_floor": "70%"})
    cast(round_, card_codes, [scale_ballot(round_, v) for v in overall_votes(13, 7)])
    result, _ = close(round_)
    assert result.rate == pytest.approx(0.65)
    assert result.verdict["passed"] is passes
    assert round_.passed is passes


@pytest.mark.parametrize("positive, negative, unknown, rate, passes", [
    # Counting 不了解 as 不满意 would give 7 of 13 dissatisfied and fail.
    pytest.param(6, 5, 2, 6 / 11, True, id="unknown-does-not-count-as-dissatisfied"),
    # Counting 不了解 as a valid answer would give 6 of 15 dissatisfied and pass.
    pytest.param(4, 6, 5, 0.40, False, id="unknown-does-not-dilute-the-dissatisfied"),
])
def test_unknown_answers_change_nothing_in_the_rate(app, demo, positive, negative, unknown,
                                                    rate, passes):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 20})
    cast(round_, card_codes, [scale_ballot(round_, v)
                              for v in overall_votes(positive, negative, unknown)])
    result, doc = close(round_)
    overall = item(result.items, "overall")
    assert overall.answered == positive + negative + unknown
    assert overall.valid == positive + negative
    unknown_option = next(o for o in item(doc["items"], "overall")["options"]
                          if o["value"] == "unknown")
    assert unknown_option["count"] == unknown
    assert result.rate == pytest.approx(rate)
    assert result.verdict["passed"] is passes


@pytest.mark.parametrize("overall, others, passes", [
    pytest.param(overall_votes(4, 6), "satisfied", False, id="good-items-bad-overall-fails"),
    pytest.param(overall_votes(6, 4), "dissatisfied", True, id="bad-items-good-overall-passes"),
])
def test_round_rate_is_the_overall_items_rate(app, demo, overall, others, passes):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 10})
    cast(round_, card_codes, [scale_ballot(round_, v, others=others) for v in overall])
    result, _ = close(round_)
    assert item(result.items, "overall").rated is True
    assert result.rate == item(result.items, "overall").rate
    assert item(result.items, "quality").rate == (1.0 if others == "satisfied" else 0.0)
    assert result.verdict["passed"] is passes


def test_round_rate_stays_with_overall_when_every_overall_answer_is_unknown(app, demo):
    # 总体评价 has no valid answer: the round has no rate, whatever the other items say.
    round_, card_codes = new_round(groups={GroupCode.MASSES: 10})
    cast(round_, card_codes, [scale_ballot(round_, "unknown", others="satisfied")] * 10)
    result, doc = close(round_)
    overall = item(result.items, "overall")
    assert overall.valid == 0 and overall.rate is None
    assert result.rate is None and doc["satisfaction_rate"] is None
    assert result.verdict["passed"] is not True


def test_member_is_flagged_only_when_unqualified_votes_exceed_half(app, demo):
    round_, card_codes = new_round(kind="member_review", groups={GroupCode.MEMBER: 20})
    grade_keys = [q for q in rounds.layout(round_) if q.member_id and q.type == "choice"]
    half, above, above_with_blank, below = grade_keys[:4]
    plan = {  # member question → 20 votes (None = left blank)
        half.key: ["unqualified"] * 10 + ["qualified"] * 10,  # exactly 50 %
        above.key: ["unqualified"] * 11 + ["qualified"] * 9,  # 55 %
        # 10 of 19 valid = 52.6 %; had the blank counted it would be exactly 50 %.
        above_with_blank.key: ["unqualified"] * 10 + ["qualified"] * 9 + [None],
        below.key: ["unqualified"] * 9 + ["excellent"] * 11,  # 45 %
    }
    ballots = []
    for n in range(20):
        rows = []
        for q in grade_keys:
            value = plan[q.key][n] if q.key in plan else "qualified"
            if value is not None:
                rows.append((q.key, value, ""))
        ballots.append(rows)
    cast(round_, card_codes, ballots)
    result, doc = close(round_)

    by_member = {m.member_id: m for m in result.members}
    assert by_member[half.member_id].flagged is False
    assert by_member[above.member_id].flagged is True
    assert by_member[above_with_blank.member_id].flagged is True
    assert by_member[above_with_blank.member_id].valid == 19
    assert by_member[below.member_id].flagged is False
    assert sorted(m.member_id for m in result.members if m.flagged) == \
        sorted([above.member_id, above_with_blank.member_id])
    assert sorted(m["id"] for m in doc["members"] if m["flagged"]) == \
        sorted([above.member_id, above_with_blank.member_id])
    unqualified = round_flags(round_, FlagKind.UNQUALIFIED)
    assert sorted(f.member_id for f in unqualified) == \
        sorted([above.member_id, above_with_blank.member_id])
    assert all(f.status.value == "proposed" and f.stage is Stage.REVIEW for f in unqualified)
    assert round_flags(round_, FlagKind.MAKE_UP) == []


# -- fewer than 5 ballots ------------------------------------------------------------------

@pytest.mark.parametrize("ballots", [0, 1, 4])
def test_fewer_than_five_ballots_show_nothing_and_decide_nothing(app, demo, ballots):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 6})
    cast(round_, card_codes, [scale_ballot(round_, "dissatisfied", "dissatisfied")] * ballots)
    result, doc = close(round_)

    assert result.ballots == ballots and doc["ballots"] == ballots
    assert result.suppressed is True and doc["suppressed"] is True
    assert result.rate is None and doc["satisfaction_rate"] is None
    for shown in (result.items, *(g.items for g in result.groups)):
        for i in shown:
            assert i.valid is None and i.rate is None
            assert all(o.count is None and o.share is None for o in i.options)
    for i in doc["items"]:
        assert i["suppressed"] is True and i["valid"] is None and i["answered"] is None
        assert all(o["count"] is None and o["suppressed"] is True for o in i["options"])
    assert all(g["suppressed"] is True and g["items"] == [] for g in doc["groups"])
    assert result.verdict["passed"] is None
    assert result.verdict["decidable"] is False
    assert result.verdict["make_up"] is False
    assert round_.passed is None
    assert round_flags(round_) == []


def test_five_ballots_are_shown_and_decided(app, demo):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 6})
    cast(round_, card_codes, [scale_ballot(round_, "dissatisfied")] * 5)
    result, doc = close(round_)
    assert result.suppressed is False
    assert item(doc["items"], "overall")["options"][3]["count"] == 5
    assert result.verdict["decidable"] is True and result.verdict["passed"] is False
    assert round_.passed is False


def test_member_review_with_four_ballots_flags_no_one(app, demo):
    round_, card_codes = new_round(kind="member_review", groups={GroupCode.MEMBER: 4})
    grade_keys = [q.key for q in rounds.layout(round_) if q.member_id and q.type == "choice"]
    cast(round_, card_codes, [[(k, "unqualified", "") for k in grade_keys]] * 4)
    result, doc = close(round_)
    assert result.members == [] and doc["members"] == []
    assert result.verdict["passed"] is None and result.verdict["flagged_members"] == []
    assert round_flags(round_) == []


# -- respondent groups ---------------------------------------------------------------------

def cast_by_group(round_, per_group, ballot):
    """Cast ``per_group[code]`` ballots with cards of that group."""
    by_group = {}
    for group, code in rounds.card_codes(round_):
        by_group.setdefault(group.code, []).append(code)
    for group_code, n in per_group.items():
        cast(round_, by_group[group_code][:n], [ballot] * n)


def test_small_group_and_next_smallest_are_hidden_so_totals_cannot_reveal_it(app, demo):
    groups = {GroupCode.MEMBER: 12, GroupCode.MASSES: 3, GroupCode.SERVICE: 8}
    round_, _ = new_round(groups=groups)
    cast_by_group(round_, groups, scale_ballot(round_, "satisfied"))
    result, doc = close(round_)

    by_code = {g.code: g for g in result.groups}
    assert by_code["masses"].suppressed is True
    assert by_code["service"].suppressed is True  # else total − member − service = masses
    assert by_code["member"].suppressed is False
    for code in ("masses", "service"):
        assert by_code[code].items == [] and by_code[code].rate is None
    member_overall = item(by_code["member"].items, "overall")
    assert member_overall.options[0].count == 12

    # The whole round is still shown.
    assert result.suppressed is False and result.ballots == 23
    assert item(result.items, "overall").options[0].count == 23

    doc_groups = {g["code"]: g for g in doc["groups"]}
    for code in ("masses", "service"):
        assert doc_groups[code]["suppressed"] is True
        assert doc_groups[code]["items"] == []
        assert doc_groups[code]["satisfaction_rate"] is None
    assert doc_groups["member"]["suppressed"] is False
    shown_total = sum(item(g["items"], "overall")["options"][0]["count"]
                      for g in doc["groups"] if not g["suppressed"])
    assert item(doc["items"], "overall")["options"][0]["count"] - shown_total == 3 + 8


def test_with_two_groups_one_small_group_hides_both(app, demo):
    groups = {GroupCode.MEMBER: 10, GroupCode.MASSES: 3}
    round_, _ = new_round(groups=groups)
    cast_by_group(round_, groups, scale_ballot(round_, "fairly"))
    result, doc = close(round_)
    assert [g.suppressed for g in result.groups] == [True, True]
    assert all(g.items == [] for g in result.groups)
    assert all(g["suppressed"] is True and g["items"] == [] for g in doc["groups"])
    assert result.suppressed is False
    assert item(doc["items"], "overall")["options"][1]["count"] == 13


def test_groups_of_five_or_more_are_all_shown(app, demo):
    groups = {GroupCode.MEMBER: 6, GroupCode.MASSES: 5}
    round_, _ = new_round(groups=groups)
    cast_by_group(round_, groups, scale_ballot(round_, "basic"))
    result, _ = close(round_)
    assert [g.suppressed for g in result.groups] == [False, False]
    assert [item(g.items, "overall").options[2].count for g in result.groups] == [6, 5]


# -- free text -----------------------------------------------------------------------------

def test_nine_comments_are_withheld_everywhere(app, demo):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 10})
    texts = [f"第{n}条整改意见：食堂要改进" for n in range(9)]
    cast(round_, card_codes, [scale_ballot(round_, "satisfied", advice=t) for t in texts]
         + [scale_ballot(round_, "satisfied")])
    result, doc = close(round_)
    assert result.comments == {} and doc["comments"] == {}
    assert result.comments_suppressed == {"advice": 9}
    assert doc["comments_suppressed"] == {"advice": 9}
    dumped = json.dumps(doc, ensure_ascii=False)
    stored = round_.result_json
    for text in texts:
        assert text not in dumped
        assert text not in stored


def test_ten_comments_are_all_shown(app, demo):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 10})
    texts = [f"第{n}条整改意见：道路要硬化" for n in range(10)]
    cast(round_, card_codes, [scale_ballot(round_, "satisfied", advice=t) for t in texts])
    result, doc = close(round_)
    assert set(result.comments["advice"]) == set(texts)
    assert len(doc["comments"]["advice"]) == 10
    assert set(doc["comments"]["advice"]) == set(texts)
    assert doc["comments_suppressed"] == {}


# -- the JSON tally against a recount ------------------------------------------------------

def random_ballot(layout, rng):
    """A mixed ballot: any option, sometimes blank; multi questions any subset; some text."""
    rows = []
    for q in layout:
        values = [o.value for o in q.options]
        if q.type == "choice":
            value = rng.choice(values + [None])
            if value is not None:
                rows.append((q.key, value, ""))
        elif q.type == "multi":
            rows.extend((q.key, v, "") for v in rng.sample(values, rng.randint(0, len(values))))
        elif q.type == "text" and rng.random() < 0.5:
            rows.append((q.key, "", f"意见{rng.randint(0, 999)}"))
    return rows


@pytest.mark.parametrize("kind", ["satisfaction", "stage_review", "member_review", "opinion"])
def test_json_tally_equals_an_independent_recount(app, demo, runner, kind):
    rng = random.Random(f"recount-{kind}")
    groups = {GroupCode.MEMBER: 12, GroupCode.MASSES: 5, GroupCode.SERVICE: 8}
    round_, _ = new_round(kind=kind, groups=groups)
    layout = rounds.layout(round_)
    by_group = {}
    for group, code in rounds.card_codes(round_):
        by_group.setdefault(group.code, []).append(code)
    for group_code, n in groups.items():
        cast(round_, by_group[group_code], [random_ballot(layout, rng) for _ in range(n)])
    result, doc = close(round_)

    expected = recount(round_.id)
    assert expected, "the recount found no answers"
    seen = {}
    for i in doc["items"]:
        for o in i["options"]:
            seen[(i["key"], o["value"])] = o["count"]
    member_keys = {q.member_id: q.key for q in layout if q.member_id and q.type == "choice"}
    assert len(doc["members"]) == len(member_keys)
    for m in doc["members"]:
        for value, n in m["counts"].items():
            seen[(member_keys[m["id"]], value)] = n
    # Every option shown matches the recount (zero where nobody chose it) ...
    for key, n in seen.items():
        assert n == expected.get(key, 0), key
    # ... and nothing the recount found is missing from the document.
    assert set(expected) <= set(seen)
    assert doc["ballots"] == 25

    # Groups that are shown match a recount of their own answers.
    group_ids = {g.code.value: g.id for g in round_.groups}
    for g in doc["groups"]:
        assert g["suppressed"] is False
        group_expected = recount(round_.id, group_ids[g["code"]])
        for i in g["items"]:
            for o in i["options"]:
                assert o["count"] == group_expected.get((i["key"], o["value"]), 0)

    # The CLI prints the same document.
    cli = runner.invoke(args=["round", "tally", str(round_.id), "--json"])
    assert cli.exit_code == 0, cli.output
    printed = json.loads(cli.output)
    assert REQUIRED_KEYS <= set(printed)
    assert printed == json.loads(json.dumps(doc))
    assert printed["round"] == round_.id and printed["kind"] == kind
    assert printed["verdict"]["passed"] == result.verdict["passed"]


def test_open_round_shows_participation_only(app, demo, client, runner):
    round_, card_codes = new_round(groups={GroupCode.MASSES: 6})
    cast(round_, card_codes, [scale_ballot(round_, "satisfied")] * 6)
    round_id = round_.id

    db.session.commit()  # end the test's read snapshot, as a fresh CLI process would
    cli = runner.invoke(args=["round", "tally", str(round_id), "--json"])
    assert cli.exit_code != 0
    assert "open" in cli.output and "6 ballot(s)" in cli.output
    assert results.result_of(round_) is None

    login(client, "secretary")
    page = client.get(f"/rounds/{round_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "参与情况" in html and "测评进行中，只显示参与情况" in html
    assert "测评结果" not in html and "满意率" not in html
    for path in ("results.csv", "results.xlsx", "charts/participation.svg",
                 "charts/items.svg"):
        assert client.get(f"/rounds/{round_id}/{path}").status_code == 404, path

    closing.close_round(None, db.session.get(Round, round_id))
    assert client.get(f"/rounds/{round_id}/results.csv").status_code == 200
    assert "测评结果" in client.get(f"/rounds/{round_id}").get_data(as_text=True)
    cli = runner.invoke(args=["round", "tally", str(round_id), "--json"])
    assert cli.exit_code == 0 and json.loads(cli.output)["ballots"] == 6


@pytest.mark.parametrize("kind, seed", [("opinion", 1), ("member_review", 2),
                                        ("satisfaction", 3), ("stage_review", 4)])
def test_counts_read_from_packed_ballots_equal_a_straightforward_count(app, demo, kind, seed):
    """Random ballots cast through the real path; what ``read_counts`` reads back from the
    packed ballots equals a plain count of the rows that were cast: option counts per group
    and in all, ballots per group, answerers of multi questions, free texts, and each
    ballot's picks (as a multiset: ballots carry no id here)."""
    from evalsvc.tally import ALL

    rng = random.Random(f"packed-{kind}-{seed}")
    round_, _ = new_round(kind=kind, groups={GroupCode.MEMBER: 9, GroupCode.MASSES: 7,
                                              GroupCode.SERVICE: 5})
    layout = rounds.layout(round_)
    cast_rows = []
    for group, code in rounds.card_codes(round_):
        if rng.random() < 0.8:
            rows = random_ballot(layout, rng)
            cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)
            cast_rows.append((group.id, rows))
    multi = [q.key for q in layout if q.type == "multi"]
    text = [q.key for q in layout if q.type == "text"]
    db.session.commit()  # a fresh snapshot: the ballots were cast on connections of their own
    counts, ballots, answered, texts, each = results.read_counts(round_.id, multi, text,
                                                                 each_ballot=True)

    expected, expected_answered = Counter(), Counter()
    expected_texts, expected_each = {}, []
    for group_id, rows in cast_rows:
        picks = {}
        for q, v, t in rows:
            if v:
                expected[(group_id, q, v)] += 1
                expected[(ALL, q, v)] += 1
                picks.setdefault(q, set()).add(v)
            elif q in text:
                expected_texts.setdefault(q, []).append(t)
        for q in set(picks) & set(multi):
            expected_answered[(group_id, q, "")] += 1
            expected_answered[(ALL, q, "")] += 1
        expected_each.append((group_id, {q: frozenset(v) for q, v in picks.items()}))
    assert {k: n for k, n in counts.items() if n} == dict(expected)
    assert ballots == dict(Counter(group_id for group_id, _ in cast_rows))
    assert {k: n for k, n in answered.items() if n} == dict(expected_answered)
    assert {q: sorted(v) for q, v in texts.items()} == \
        {q: sorted(v) for q, v in expected_texts.items()}
    assert sorted(map(repr, map(_sorted_picks, each))) == \
        sorted(map(repr, map(_sorted_picks, expected_each)))
    assert multi or kind != "opinion"  # the opinion form has a multi question to count


def _sorted_picks(ballot):
    group_id, picks = ballot
    return group_id, sorted((q, sorted(v)) for q, v in picks.items())
