"""PostgreSQL roles for people who read the database but must not pair ballots.

A role with SELECT on the tables can read each row's ``xmin``: while a round is open, the
transaction that spent a card also stored its ballot and receipt, so equal ``xmin`` values
pair them. The reporting role therefore reads nothing but views in a schema of its own:
a view has no system columns, and these show no ballot, answer, receipt or card row at
all, only rounds with the results stored at close (already suppressed for small groups)
and participation counts, which staff see on the round's page anyway.
"""
import re

import sqlalchemy as sa

from evalsvc.extensions import db

REPORTING_ROLE = "evalsvc_reporting"
REPORTING_SCHEMA = "reporting"

# name → SELECT over the application's tables (resolved once, at CREATE VIEW).
VIEWS = {
    "organisations": "SELECT id, code, name, type, unit, parent_id FROM organisations",
    "rounds": (
        "SELECT id, organisation_id, campaign_id, stage, kind, attempt, title, state,"
        " created_on, opened_on, closed_on, passed, verdict_status, digest,"
        " CASE WHEN state = 'closed' THEN result_json END AS result_json FROM rounds"),
    "participation": (
        "SELECT g.round_id, g.code AS group_code, g.card_count,"
        " (SELECT count(*) FROM ballots b WHERE b.group_id = g.id) AS ballots"
        " FROM respondent_groups g"),
}

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r}: use lower-case letters, digits and _")
    return name


def create_reporting_role(role: str = REPORTING_ROLE, schema: str = REPORTING_SCHEMA) -> None:
    """Create (or bring up to date) a login role that reads only the reporting views.

    Run it as the owner of the application's tables with CREATEROLE; set the role's
    password afterwards (``ALTER ROLE … PASSWORD``)."""
    role, schema = _checked(role), _checked(schema)
    with db.engine.begin() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                            {"r": role}).first():
            conn.exec_driver_sql(f"CREATE ROLE {role}")
        conn.exec_driver_sql(f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                             " NOREPLICATION NOBYPASSRLS")
        app_schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA {app_schema} FROM {role}")
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
        for name, query in VIEWS.items():
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {schema}.{name}")
            conn.exec_driver_sql(
                f"CREATE VIEW {schema}.{name} WITH (security_barrier) AS {query}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")


def drop_reporting_role(role: str = REPORTING_ROLE, schema: str = REPORTING_SCHEMA) -> None:
    """Remove the reporting views and the role."""
    role, schema = _checked(role), _checked(schema)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                        {"r": role}).first():
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
