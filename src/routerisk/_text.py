"""Text folding shared by the gazetteer, the state table and the siting exclusions."""

from __future__ import annotations

import unicodedata

__all__ = ["fold"]


def fold(text: object) -> str:
    """Lower case without accents and with single spaces, for matching place names.

    Examples
    --------
    >>> fold("  Ciudad de  MÉXICO ")
    'ciudad de mexico'
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())
