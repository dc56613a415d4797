"""Name normalisation used for indexing and matching."""

from __future__ import annotations

import unicodedata


def normalise_name(name: str) -> str:
    """NFKC (folds full-width forms), case-folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", name).casefold()
    kept = [ch if (ch.isalnum() or ch.isspace()) else " " for ch in text]
    return " ".join("".join(kept).split())
