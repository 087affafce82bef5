"""``evalsvc init`` and ``evalsvc demo``."""
import json
import subprocess
import sys

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Member, MemberStatus, Organisation, OrgType, Role, User


def test_init_creates_schema_and_a_campaign(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "current campaign" in result.output
    # Running it again is an upgrade with nothing to do, not an error.
    assert runner.invoke(args=["init"]).exit_code == 0


def test_demo_builds_a_county_with_branches_members_and_accounts(runner):
    runner.invoke(args=["init"])
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for username in ("office", "supervisor", "secretary"):
        assert username in result.output
    branches = db.session.scalars(
        sa.select(Organisation).where(Organisation.type == OrgType.BRANCH)
    ).all()
    assert 10 <= len(branches) <= 16
    assert {b.batch.number for b in branches} == {1, 2, 3}
    for branch in branches:
        assert 8 <= len(branch.members) <= 40
    assert db.session.scalar(
        sa.select(sa.func.count()).where(Member.status == MemberStatus.PROBATIONARY)
    ) > 0
    roles = {u.role for u in db.session.scalars(sa.select(User))}
    assert roles == set(Role)


def test_demo_loads_only_once(runner):
    runner.invoke(args=["init"])
    runner.invoke(args=["demo"])
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0
    assert "already" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == count


def test_console_script_runs_flask_cli_help():
    result = subprocess.run(
        [sys.executable, "-c", "from evalsvc.cli import main; main()", "--help"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0
    for command in ("init", "demo", "user", "org"):
        assert command in result.stdout


def test_org_list_json_reports_each_org_stage(runner, demo):
    result = runner.invoke(args=["org", "list", "--json"])
    rows = json.loads(result.output)
    by_code = {r["code"]: r for r in rows}
    assert by_code["XW0101"] == {
        "code": "XW0101", "name": "县委办公室党支部", "type": "branch", "parent": "XW01",
        "unit": "县委办公室", "batch": 1, "stage": "review", "stage_state": "in_progress",
    }
    assert by_code["XW050101"]["stage"] == "study"
    assert by_code["XW"]["parent"] is None
    assert len(rows) == len(demo)


def test_org_list_plain_has_one_line_per_org(runner, demo):
    result = runner.invoke(args=["org", "list"])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == len(demo)
    assert "县委办公室党支部" in result.output
