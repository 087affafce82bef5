"""Scope on every object: a role × route matrix built from the app's URL map."""
from datetime import date

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    AuditEntry, DefinitionVersion, Flag, Member, MemberGrade, Organisation, Round, Transition, User,
)
from tests.helpers import login

PUBLIC_ENDPOINTS = {"static", "auth.login"}


def _state():
    """A fingerprint of everything staff can change."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
        tuple(db.session.execute(sa.select(Organisation.id, Organisation.name,
                                           Organisation.parent_id)).all()),
        tuple(db.session.execute(sa.select(Member.id, Member.name, Member.active)).all()),
        tuple(db.session.execute(sa.select(User.id, User.role, User.active)).all()),
        tuple(db.session.execute(sa.select(Flag.id, Flag.status, Flag.make_up_on)).all()),
        tuple(db.session.execute(sa.select(Transition.id, Transition.state)).all()),
        tuple(db.session.execute(sa.select(Round.id, Round.state)).all()),
        tuple(db.session.execute(sa.select(MemberGrade.id, MemberGrade.grade,
                                           MemberGrade.followup)).all()),
        tuple(db.session.execute(sa.select(DefinitionVersion.id,
                                           DefinitionVersion.state)).all()),
    )


def _foreign_ids(role: str, ids: dict[str, int]) -> dict[str, int]:
    """For each URL argument, an object the role must not reach."""
    member_elsewhere = db.session.scalar(
        sa.select(Member.id).where(Member.organisation_id == ids["XW050101"]).limit(1)
    )
    if role == "office":  # sees everything: only missing objects are out of reach
        return {"org_id": 999_999, "member_id": 999_999, "user_id": 999_999,
                "round_id": 999_999, "name": "no_such_definition", "flag_id": 999_999,
                "transition_id": 999_999, "grade_id": 999_999, "unit_id": 999_999,
                "fmt": "exe", "plan_id": 999_999, "item_id": 999_999, "action": "approve",
                "job_id": _foreign_job("supervisor")}
    foreign = ids["XW050101"]
    round_id = _foreign_round(foreign)
    return {"grade_id": _foreign_grade(round_id, foreign, member_elsewhere),
            "org_id": foreign, "member_id": member_elsewhere,
            "user_id": db.session.scalar(sa.select(User.id).limit(1)),
            "round_id": round_id, "name": "no_such_definition",
            "flag_id": _foreign_flag(foreign), "transition_id": _foreign_transition(foreign),
            "unit_id": db.session.get(Organisation, foreign).unit_id, "fmt": "exe",
            **_foreign_plan(foreign), "action": "approve", "job_id": _foreign_job("office")}


def _foreign_job(owner: str) -> int:
    """A failed job of another account (a job is its starter's alone, whatever the role)."""
    from evalsvc.models import Job, JobState

    job = Job(kind="round.close", title="外部", params="{}", state=JobState.FAILED,
              user_id=db.session.scalar(sa.select(User.id).where(User.username == owner)),
              result_file="x.pdf", result_name="x.pdf")
    db.session.add(job)
    db.session.commit()
    return job.id


def _foreign_plan(org_id: int) -> dict[str, int]:
    """A submitted 整改方案 with one item, in a branch of another scope."""
    from evalsvc.models import PlanItem, PlanState, RectificationPlan
    from evalsvc.services.campaigns import ensure_campaign

    plan = RectificationPlan(organisation_id=org_id, campaign_id=ensure_campaign().id,
                             state=PlanState.SUBMITTED, drafted_by="x", drafted_on=date.today(),
                             review_opinion="", return_reason="")
    item = PlanItem(plan=plan, organisation_id=org_id, problem="外部", measures="x",
                    responsible="x", deadline=date.today())
    db.session.add_all([plan, item])
    db.session.commit()
    return {"plan_id": plan.id, "item_id": item.id}


def _foreign_flag(org_id: int) -> int:
    from evalsvc.models import Flag, FlagKind, Stage

    flag = Flag(kind=FlagKind.MAKE_UP, organisation_id=org_id, stage=Stage.STUDY,
                raised_on=date.today(), summary="外部")
    db.session.add(flag)
    db.session.commit()
    return flag.id


def _foreign_grade(round_id: int, org_id: int, member_id: int) -> int:
    from evalsvc.models import MemberGrade

    grade = MemberGrade(round_id=round_id, member_id=member_id, organisation_id=org_id,
                        grade="unqualified", recorded_by="x", recorded_on=date.today(),
                        confirmed_by="x", confirmed_on=date.today())
    db.session.add(grade)
    db.session.commit()
    return grade.id


def _foreign_transition(org_id: int) -> int:
    from evalsvc.models import Stage, Transition

    item = Transition(organisation_id=org_id, stage=Stage.STUDY, applied_by="x",
                      applied_on=date.today())
    db.session.add(item)
    db.session.commit()
    return item.id


def _foreign_round(org_id: int) -> int:
    """An open round, with cards and a poster, in a branch of another scope."""
    from evalsvc.models import GroupCode, Stage
    from evalsvc.services.rounds import RoundData, create_round, open_round

    round_ = create_round(None, RoundData(org_id, "satisfaction", Stage.STUDY,
                                          {GroupCode.MASSES: 3}, poster=True))
    open_round(None, round_)
    return round_.id


def _staff_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(("respond.", "public.")):
            continue
        yield rule


@pytest.mark.parametrize("role", ["office", "supervisor", "secretary"])
def test_every_staff_route_answers_404_outside_scope_and_changes_nothing(app, client, demo,
                                                                          role):
    login(client, role)
    foreign = _foreign_ids(role, demo)
    checked = 0
    for rule in _staff_rules(app):
        if not rule.arguments:
            continue
        missing = set(rule.arguments) - set(foreign)
        assert not missing, f"{rule.rule}: add {missing} to the scope matrix"
        url = rule.build({a: foreign[a] for a in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            before = _state()
            response = client.open(url, method=method, data={"name": "改名", "code": "Z9"})
            assert response.status_code == 404, f"{role} {method} {url}"
            db.session.expire_all()
            assert _state() == before, f"{role} {method} {url} changed data"
            checked += 1
    assert checked >= 5


def test_secretary_tree_shows_only_their_branch(client, demo):
    login(client, "secretary")
    html = client.get("/").get_data(as_text=True)
    assert "县委办公室党支部" in html
    assert "县政府办公室党支部" not in html
    assert "共乐镇新华村党支部" not in html


def test_supervisor_sees_assigned_subtrees_only(client, demo):
    login(client, "supervisor")
    html = client.get("/").get_data(as_text=True)
    assert "县财政局党支部" in html and "兴文中学教工第一党支部" in html
    assert "县人民医院内科党支部" not in html
    assert client.get(f"/orgs/{demo['XW0102']}").status_code == 200
    assert client.get(f"/orgs/{demo['XW030101']}").status_code == 404


def test_office_sees_everything(client, demo):
    login(client, "office")
    html = client.get("/").get_data(as_text=True)
    for name in ("县委办公室党支部", "共乐镇石林村党支部", "县人民医院外科党支部"):
        assert name in html


def test_supervisor_cannot_write_inside_scope(client, demo):
    login(client, "supervisor")
    before = _state()
    response = client.post(f"/orgs/{demo['XW0102']}/members/new",
                           data={"name": "新党员", "status": "full"})
    assert response.status_code == 403
    assert client.get(f"/orgs/{demo['XW0102']}/edit").status_code == 404
    assert client.get("/users/").status_code == 404
    db.session.expire_all()
    assert _state() == before
