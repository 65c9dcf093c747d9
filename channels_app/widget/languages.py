"""The widget's languages and its JSON string catalogs (one file per language)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "es", "fr", "it", "nb", "ar")
RTL = frozenset({"ar"})
DEFAULT = "en"
_ALIASES = {"no": "nb", "nn": "nb"}
CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


def pick_language(value: str | None) -> str:
    """'es-MX' -> 'es', 'no' -> 'nb', anything unknown -> 'en'."""
    primary = (value or "").strip().lower().replace("_", "-").split("-")[0]
    primary = _ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES else DEFAULT


def catalog(language: str) -> dict[str, Any]:
    """The catalog for any requested name; cached per supported language only (the name comes
    from a public URL, so caching on it would let anyone fill memory)."""
    return _catalog(pick_language(language))


@cache
def _catalog(language: str) -> dict[str, Any]:
    strings = json.loads((CATALOG_DIR / f"{language}.json").read_text(encoding="utf-8"))
    return {"lang": language, "dir": "rtl" if language in RTL else "ltr", "strings": strings}
