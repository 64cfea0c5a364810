"""The results database: tables, migrations, connection handling and repository functions."""

from segtasks.store.database import (
    BadDatabaseUrl,
    ResultSpooled,
    SchemaOutdated,
    StoreUnavailable,
    connect,
    masked,
    resolve_url,
    upgrade,
)

__all__ = ["BadDatabaseUrl", "ResultSpooled", "SchemaOutdated", "StoreUnavailable", "connect",
           "masked", "resolve_url", "upgrade"]
