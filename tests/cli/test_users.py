"""``evalsvc user add``."""
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Role, User


def _user(name):
    return db.session.scalar(sa.select(User).where(User.username == name))


def test_add_office_user_from_password_file(runner, demo, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("a-long-password\n")
    result = runner.invoke(args=["user", "add", "zhang", "--role", "office",
                                 "--password-file", str(secret)])
    assert result.exit_code == 0, result.output
    user = _user("zhang")
    assert user.role is Role.OFFICE
    assert user.check_password("a-long-password")
    assert "a-long-password" not in user.password_hash
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.create",
                                                         AuditEntry.object_id == str(user.id)))


def test_add_secretary_with_branch_from_prompt(runner, demo):
    result = runner.invoke(args=["user", "add", "lisi", "--role", "secretary",
                                 "--branch", "XW0102"], input="pass-word-1\npass-word-1\n")
    assert result.exit_code == 0, result.output
    assert _user("lisi").branch_id == demo["XW0102"]


def test_add_supervisor_with_several_orgs(runner, demo, tmp_path):
    (tmp_path / "pw").write_text("pass-word-1")
    result = runner.invoke(args=["user", "add", "wang", "--role", "supervisor", "--org", "XW03",
                                 "--org", "XW04", "--password-file", str(tmp_path / "pw")])
    assert result.exit_code == 0, result.output
    assert {o.code for o in _user("wang").assigned} == {"XW03", "XW04"}


def test_secretary_without_branch_is_refused(runner, demo, tmp_path):
    (tmp_path / "pw").write_text("pass-word-1")
    result = runner.invoke(args=["user", "add", "zhao", "--role", "secretary",
                                 "--password-file", str(tmp_path / "pw")])
    assert result.exit_code != 0
    assert "branch_id" in result.output
    assert _user("zhao") is None


def test_unknown_org_code_and_short_password_are_refused(runner, demo, tmp_path):
    (tmp_path / "pw").write_text("short")
    result = runner.invoke(args=["user", "add", "qian", "--role", "supervisor", "--org", "NOPE",
                                 "--password-file", str(tmp_path / "pw")])
    assert result.exit_code != 0 and "NOPE" in result.output
    result = runner.invoke(args=["user", "add", "qian", "--role", "office",
                                 "--password-file", str(tmp_path / "pw")])
    assert result.exit_code != 0 and "password" in result.output
    assert _user("qian") is None


def test_duplicate_username_is_refused(runner, demo, tmp_path):
    (tmp_path / "pw").write_text("pass-word-1")
    result = runner.invoke(args=["user", "add", "office", "--role", "office",
                                 "--password-file", str(tmp_path / "pw")])
    assert result.exit_code != 0 and "已被使用" in result.output
