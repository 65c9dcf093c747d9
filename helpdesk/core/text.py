"""Text from the outside world made storable.

PostgreSQL refuses NUL in `text` and in `jsonb` strings, and a lone UTF-16 surrogate (which a
JSON body may spell as `\\ud800`) cannot be encoded as UTF-8 at all; either would turn a
customer's message into a 500. Every inbound path cleans what it stores with these helpers, so
the message is kept without the characters no database could hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# NUL, and lone surrogates (U+D800-U+DFFF never appear in well-formed text).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` without NUL; a lone surrogate becomes U+FFFD (the replacement character)."""
    if not _UNSTORABLE.search(value):
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def clean_data(value: Any) -> Any:
    """`clean_text` applied to every string (keys too) in a JSON-like structure."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value
