"""The results database: tables, migrations, connection handling and repository functions."""

from segtasks.store.database import (
    SchemaOutdated,
    StoreUnavailable,
    connect,
    masked,
    resolve_url,
    upgrade,
)

__all__ = ["SchemaOutdated", "StoreUnavailable", "connect", "masked", "resolve_url", "upgrade"]
