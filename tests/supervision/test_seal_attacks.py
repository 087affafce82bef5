"""An insider's attacks on a sealed round, made directly in the database with SQL (as
someone with write access to the tables would): each one fails ``evalsvc verify`` with a
line saying what differs. Run on SQLite, and on PostgreSQL with EVALSVC_TEST_DATABASE_URL."""
import json
import secrets
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import GroupCode
from evalsvc.services import ballots, closing, rounds, seal, seal_v1
from tests.helpers import SATISFACTION, closed_satisfaction_round, new_round, rewrite_answers
from tests.supervision.insider import column, reseal_as_insider, set_answer, sql


def _closed_member_review(n=6):
    """A closed 民主评议 round where the first member gets 不合格 from everyone."""
    round_, cards = new_round(kind="member_review", groups={GroupCode.MEMBER: n})
    grades = [q for q in rounds.layout(round_) if q.member_id is not None and
              q.type == "choice"]
    for code in cards:
        rows = [(q.key, "unqualified" if q is grades[0] else "excellent", "") for q in grades]
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)
    closing.close_round(None, round_)
    return round_, grades[0].member_id, grades[1].member_id


def _verify(runner, round_id: int, *extra: str):
    db.session.commit()
    return runner.invoke(args=["verify", str(round_id), *extra])


def test_a_clean_round_verifies_and_a_saved_digest_is_checked(runner, demo):
    round_ = closed_satisfaction_round(12, 14, with_text=True)
    result = _verify(runner, round_.id)
    assert result.exit_code == 0, result.output
    assert f"OK — digest {round_.digest} ({seal.VERSION})" in result.output
    assert _verify(runner, round_.id, "--digest", round_.digest.upper()).exit_code == 0
    other = "0" * 64
    result = _verify(runner, round_.id, "--digest", other)
    assert result.exit_code == 1
    assert f"digest differs from the copy checked: given {other}" in result.output


def test_changing_the_stored_verdict_and_rate_fails(runner, demo):
    round_ = closed_satisfaction_round(12, 14, with_text=True)
    data = json.loads(column(round_.id, "result_json"))
    assert data["verdict"]["passed"] is True and data["rate"] == 1.0
    data["verdict"].update(passed=False, make_up=True)
    data["rate"] = 0.25
    sql("UPDATE rounds SET result_json = :j, passed = :p WHERE id = :id",
         j=json.dumps(data, ensure_ascii=False), p=False, id=round_.id)
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert f"round {round_.id}: digest differs: stored {round_.digest}" in result.output
    assert "result.verdict.passed: stored false, recounted true" in result.output
    assert "result.rate: stored 0.25, recounted 1.0" in result.output


def test_swapping_two_members_names_in_the_frozen_list_fails(runner, demo):
    round_, first, second = _closed_member_review()
    layout = json.loads(column(round_.id, "layout_json"))
    by_member = {q["member_id"]: q for q in layout if q["key"].startswith("grade_m")}
    a, b = by_member[first], by_member[second]
    a["text"], b["text"] = b["text"], a["text"]
    sql("UPDATE rounds SET layout_json = :j WHERE id = :id",
         j=json.dumps(layout, ensure_ascii=False), id=round_.id)
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert "digest differs: stored" in result.output
    assert (f"result.members[{first}].name: stored \"{b['text']}\", "
            f"recounted \"{a['text']}\"") in result.output


def test_swapping_option_values_in_the_frozen_layout_fails(runner, demo):
    round_ = closed_satisfaction_round(12, 14, with_text=True)
    layout = json.loads(column(round_.id, "layout_json"))
    overall = next(q for q in layout if q["key"] == "overall")
    options = {o["value"]: o for o in overall["options"]}
    assert (options["satisfied"]["label"], options["dissatisfied"]["label"]) == ("满意", "不满意")
    options["satisfied"]["value"], options["dissatisfied"]["value"] = "dissatisfied", "satisfied"
    sql("UPDATE rounds SET layout_json = :j WHERE id = :id",
         j=json.dumps(layout, ensure_ascii=False), id=round_.id)
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert "digest differs: stored" in result.output
    assert ("result.items['overall'].options['satisfied'].value: stored \"satisfied\", "
            "recounted \"dissatisfied\"") in result.output


def test_folding_a_choice_answer_into_a_free_text_fails(runner, demo):
    round_ = closed_satisfaction_round(12, 14, with_text=True)
    sealed, v1_before = round_.digest, seal_v1.digest_of(round_.id)
    ballot_id = sql("SELECT id FROM ballots WHERE round_id = :r AND answers LIKE :t "
                    "ORDER BY id", r=round_.id, t='%"advice"%')[0][0]
    # v1 joined a ballot's answers as "group=question=value=text" with "|": the text of
    # 'advice' can swallow the next answer, 'organisation', without changing the string.

    def fold(answers):
        text = next(t for q, _v, t in answers if q == "advice")
        return [[q, v, f"{text}|masses=organisation=fairly=" if q == "advice" else t]
                for q, v, t in answers if q != "organisation"]

    db.session.commit()
    with db.engine.begin() as conn:
        rewrite_answers(conn, ballot_id, fold)
    reseal_as_insider(round_.id)  # the recount now agrees with the stored result
    sql("UPDATE rounds SET digest = :d WHERE id = :id", d=sealed, id=round_.id)
    assert seal_v1.digest_of(round_.id) == v1_before  # the ambiguity the old seal had
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert f"digest differs: stored {sealed}" in result.output
    assert "result." not in result.output


@pytest.mark.parametrize("stored", ["duplicate", "unsorted", "spaced", "not json",
                                    "numbers", "empty text"])
def test_answers_stored_in_a_form_other_than_the_canonical_one_fail(runner, demo, stored):
    """The seal hashes the decoded answers: a second spelling of the same answers (or two
    answers to one option, which the one-row-per-option table forbade) must not pass as
    the sealed ballot. Verify names it, and the seal refuses it."""
    round_ = closed_satisfaction_round(12, 14, with_text=True)
    ballot_id = sql("SELECT id FROM ballots WHERE round_id = :r ORDER BY id",
                    r=round_.id)[0][0]
    change = {"duplicate": lambda a: [*a, a[0]],
              "unsorted": lambda a: json.dumps(a[::-1], separators=(",", ":"),
                                               ensure_ascii=False),
              "spaced": lambda a: json.dumps(a, ensure_ascii=False),
              "not json": lambda a: '[["overall"',
              "numbers": lambda a: '[[1,2,3]]',
              "empty text": lambda a: [[q, v, t or ""] for q, v, t in a]}[stored]
    db.session.commit()
    with db.engine.begin() as conn:
        rewrite_answers(conn, ballot_id, change)
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert (f"round {round_.id}: 1 ballot(s) whose stored answers are not canonically "
            "packed") in result.output
    assert "digest differs: stored" in result.output  # sealed as its text, not decoded
    with pytest.raises(seal.SealError, match="not canonically packed"):
        seal.seal(db.session.get(type(round_), round_.id))
    db.session.rollback()


def test_changing_answers_and_recomputing_result_and_digest_fails_on_the_audit_log(
        runner, demo):
    round_ = closed_satisfaction_round(12, 14, with_text=True)
    sealed = round_.digest
    set_answer(round_.id, "overall", "dissatisfied")
    reseal_as_insider(round_.id)
    forged = column(round_.id, "digest")
    assert forged != sealed
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    # The row agrees with itself; only the anchor outside it remembers.
    assert "digest differs: stored" not in result.output
    assert (f"digest differs from the audit log: logged at close {sealed}, "
            f"recomputed {forged}") in result.output
    assert "result." not in result.output
    assert _verify(runner, round_.id, "--digest", sealed).exit_code == 1
    # The log refuses updates, but anyone may append: neither a second close entry nor a
    # forged purge before it (as if the round had started over) moves the anchor.
    _append_entry("round.close", round_.id, digest=forged, seal=seal.VERSION)
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert "the audit log holds 2 round.close entries" in result.output
    _append_entry("round.purge_rehearsal", round_.id, ballots=12)
    _append_entry("round.close", round_.id, digest=forged, seal=seal.VERSION)
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert "rehearsal purge of a round not created as a rehearsal" in result.output


def _append_entry(action: str, round_id: int, **detail) -> None:
    sql("INSERT INTO audit_log (at, actor, role, action, object_type, object_id, detail) "
        "VALUES (:at, 'office', 'office', :action, 'round', :id, :detail)",
        at=datetime.now(timezone.utc), action=action, id=str(round_id),
        detail=json.dumps(detail))


def test_a_round_sealed_with_v1_still_verifies_and_its_tampering_is_found(runner, demo,
                                                                          monkeypatch):
    def seal_with_v1(round_, _sealing=None):  # the close's own pass is left unused
        round_.digest = seal_v1.digest_of(round_.id)[0]
        return round_.digest

    with monkeypatch.context() as patch:
        patch.setattr(seal, "seal", seal_with_v1)
        patch.setattr(seal, "VERSION", seal_v1.VERSION)
        round_ = closed_satisfaction_round(12, 14, with_text=True)
    # A result stored by an older version lacks fields added since: not a difference.
    stored = json.loads(column(round_.id, "result_json"))
    del stored["question_labels"]
    sql("UPDATE rounds SET result_json = :j WHERE id = :id",
        j=json.dumps(stored, ensure_ascii=False), id=round_.id)
    result = _verify(runner, round_.id)
    assert result.exit_code == 0, result.output
    assert f"({seal_v1.VERSION})" in result.output
    set_answer(round_.id, "overall", "dissatisfied")
    result = _verify(runner, round_.id)
    assert result.exit_code == 1
    assert "digest differs: stored" in result.output
    assert f"sealed with {seal_v1.VERSION}" in result.output


def test_the_web_check_still_works_on_a_v2_seal(client, demo):
    from tests.helpers import login

    round_ = closed_satisfaction_round(12, 14, with_text=True)
    login(client, "supervisor")
    assert "核验通过" in client.post(f"/rounds/{round_.id}/verify").get_data(as_text=True)
    sql("UPDATE rounds SET title = :t WHERE id = :id", t="改过的标题", id=round_.id)
    page = client.post(f"/rounds/{round_.id}/verify").get_data(as_text=True)
    assert "核验未通过" in page and "result.title" in page



def test_the_anchor_is_the_close_since_a_rehearsal_was_purged(runner, demo):
    from evalsvc.services import rehearsal

    practice, cards = new_round(groups={GroupCode.MASSES: 6}, rehearsal=True)
    for code in cards:
        ballots.cast_card_ballot(practice.id, code, secrets.token_urlsafe(16),
                                 [(k, v, "") for k, v in SATISFACTION.items()])
    closing.close_round(None, practice)
    rehearsal.purge(None, practice)
    rounds.open_round(None, practice)
    for _group, code in rounds.card_codes(practice)[:5]:
        ballots.cast_card_ballot(practice.id, code, secrets.token_urlsafe(16),
                                 [(k, v, "") for k, v in SATISFACTION.items()])
    closing.close_round(None, practice)
    result = _verify(runner, practice.id)
    assert result.exit_code == 0, result.output


def test_the_final_verdict_must_follow_the_audit_logs_decisions(runner, demo):
    """What the dashboard and the round's page show as decided (rounds.passed and its
    status, the 补课 flag) is the office's audited decision, or the rules' proposal when
    there is none. Flipping it in the tables, with no decision logged, fails verify; a real
    decision through the service passes."""
    from evalsvc.models import User
    from evalsvc.services import flags

    passing = closed_satisfaction_round(6)
    assert _verify(runner, passing.id).exit_code == 0
    sql("UPDATE rounds SET passed = :p, verdict_status = 'confirmed' WHERE id = :id",
        p=False, id=passing.id)
    result = _verify(runner, passing.id)
    assert result.exit_code == 1
    assert "final verdict: shown 未通过 (confirmed), the audit log says 通过 (proposed)" \
        in result.output, result.output

    decided = closed_satisfaction_round(6)
    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    flags.override_verdict(office, db.session.get(type(decided), decided.id), "复核后认定需要补课")
    assert _verify(runner, decided.id).exit_code == 0, _verify(runner, decided.id).output
    sql("UPDATE rounds SET passed = :p, verdict_status = 'confirmed' WHERE id = :id",
        p=True, id=decided.id)
    sql("UPDATE flags SET status = 'overridden' WHERE round_id = :id", id=decided.id)
    result = _verify(runner, decided.id)
    assert result.exit_code == 1
    assert "final verdict: shown 通过 (confirmed), the audit log says 未通过 (overridden)" \
        in result.output, result.output
    assert "补课 flag" in result.output, result.output


def test_a_decided_make_up_has_exactly_one_follow_up_and_a_pass_has_none(runner, demo):
    """The verdict lives on the round; a decided 补课 opens one MAKE_UP flag. Deleting that
    flag (the branch escapes its make-up) or slipping one onto a passed round (a branch
    held back for nothing) is found by verify."""
    from evalsvc.models import User
    from evalsvc.services import flags

    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    failed = closed_satisfaction_round(6)
    flags.override_verdict(office, failed, "复核后认定需要补课")
    assert _verify(runner, failed.id).exit_code == 0
    sql("DELETE FROM flags WHERE round_id = :id AND kind = 'make_up'", id=failed.id)
    result = _verify(runner, failed.id)
    assert result.exit_code == 1
    assert "补课 flags in force: 0, the audit log's verdict calls for 1" in result.output

    passed = closed_satisfaction_round(6)
    flags.confirm_verdict(office, passed)
    assert _verify(runner, passed.id).exit_code == 0
    sql("INSERT INTO flags (kind, status, organisation_id, campaign_id, stage, round_id, unit,"
        " summary, raised_on, reason) SELECT 'make_up', 'confirmed', organisation_id,"
        " campaign_id, stage, id, '', '', closed_on, '' FROM rounds WHERE id = :id",
        id=passed.id)
    result = _verify(runner, passed.id)
    assert result.exit_code == 1
    assert "补课 flags in force: 1, the audit log's verdict calls for 0" in result.output


def test_a_make_up_flag_slipped_in_undecided_or_onto_another_branch_is_found(runner, demo):
    """A 补课 flag is only ever written decided; one inserted as 'proposed' still shows
    需补课 on the dashboard and holds back the branch's next attempt, so verify counts it.
    The follow-up of a decided 补课 moved onto another branch leaves the right branch free
    and holds back the wrong one: verify names it too."""
    from evalsvc.models import User
    from evalsvc.services import flags

    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    passed = closed_satisfaction_round(6)
    flags.confirm_verdict(office, passed)
    sql("INSERT INTO flags (kind, status, organisation_id, campaign_id, stage, round_id, unit,"
        " summary, raised_on, reason) SELECT 'make_up', 'proposed', organisation_id,"
        " campaign_id, stage, id, '', '', closed_on, '' FROM rounds WHERE id = :id",
        id=passed.id)
    result = _verify(runner, passed.id)
    assert result.exit_code == 1
    assert "补课 flags in force: 1, the audit log's verdict calls for 0" in result.output
    sql("DELETE FROM flags WHERE round_id = :id", id=passed.id)  # it held the branch back

    failed = closed_satisfaction_round(6)
    flags.override_verdict(office, failed, "复核后认定需要补课")
    assert _verify(runner, failed.id).exit_code == 0
    sql("UPDATE flags SET organisation_id = (SELECT id FROM organisations WHERE code = 'XW0102')"
        " WHERE round_id = :id AND kind = 'make_up'", id=failed.id)
    result = _verify(runner, failed.id)
    assert result.exit_code == 1
    assert "is not the round's" in result.output, result.output
