"""The ``evalsvc`` command: Flask's CLI with the operator commands added."""
from flask import Flask
from flask.cli import FlaskGroup

from evalsvc.cli import (
    admin, campaigns, exports, jobs, members, orgs, rounds, supervision, users,
)


def init_app(app: Flask) -> None:
    """Register every command group on the app's CLI."""
    app.cli.add_command(admin.init_command)
    app.cli.add_command(admin.demo_command)
    app.cli.add_command(admin.roles_command)
    app.cli.add_command(users.user_group)
    app.cli.add_command(orgs.org_group)
    app.cli.add_command(members.member_group)
    app.cli.add_command(rounds.round_group)
    app.cli.add_command(campaigns.campaign_group)
    app.cli.add_command(exports.export_group)
    app.cli.add_command(supervision.verify_command)
    app.cli.add_command(supervision.report_group)
    app.cli.add_command(jobs.worker_command)


def _create_app():
    from evalsvc import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="evalsvc: anonymous campaign questionnaires.")
