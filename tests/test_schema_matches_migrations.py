"""The ORM's tables and the migrated database agree: columns, types, nullability,
constraints and indexes, in both dialects. A column added on one side only fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from segtasks.store import database
from segtasks.store.schema import Base


def test_the_orm_and_the_migrated_database_agree(db_url):
    with database.engine(db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
