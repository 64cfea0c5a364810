"""What an export is cached by: the model it was made from.

Today the model is the mission's architecture with a weights file; the model specification
(issue 24) gives every model an identity of its own, which replaces this function's body.
"""

from __future__ import annotations

import hashlib

IDENTITY_CHARS = 16  # 64 bits of the hash: a folder name, no clash in practice


def export_identity(weights_sha256: str) -> str:
    """A short hash of the architecture and the weights' sha256: two models never share an
    export, and new weights make a new one."""
    from segtasks.measure.model import ARCHITECTURE

    text = f"{ARCHITECTURE}\n{weights_sha256}"
    return hashlib.sha256(text.encode()).hexdigest()[:IDENTITY_CHARS]
