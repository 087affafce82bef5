"""database.insert_rows: many rows at driver speed (COPY on PostgreSQL), names quoted."""
import sqlalchemy as sa

from evalsvc.database import insert_rows
from evalsvc.extensions import db


def test_rows_go_in_as_given_whatever_the_columns_are_called(app):
    # Reserved words and mixed case are names like any other; values are data, never SQL.
    table = sa.Table("Bulk Probe", sa.MetaData(), sa.Column("order", sa.Integer),
                     sa.Column("Group", sa.String(40)), sa.Column("flag", sa.Boolean))
    table.create(db.session.connection())
    try:
        insert_rows(table, ("order", "Group", "flag"),
                    ((n, f"x'); DROP TABLE cards; --{n}", n % 2 == 0) for n in range(3)))
        rows = db.session.execute(sa.select(table).order_by(table.c.order)).all()
        assert rows == [(n, f"x'); DROP TABLE cards; --{n}", n % 2 == 0) for n in range(3)]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            sa.table("cards"))) == 0  # still there
    finally:
        db.session.rollback()
        table.drop(db.engine, checkfirst=True)
