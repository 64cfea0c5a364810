"""The results database: tables, migrations, connection handling and repository functions."""

from segtasks.store.database import (
    BadDatabaseUrl,
    SchemaOutdated,
    StoreUnavailable,
    connect,
    masked,
    resolve_url,
    upgrade,
)

__all__ = ["BadDatabaseUrl", "SchemaOutdated", "StoreUnavailable", "connect", "masked",
           "resolve_url", "upgrade"]
