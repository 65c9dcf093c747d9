"""Running `import_history` in tests, and writing import files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import CommandError, call_command

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "import" / "sample.jsonl"


@dataclass
class Outcome:
    summary: dict[str, Any]
    errors: list[str]  # standard error, one line each
    failed: bool  # exited non-zero

    def counts(self, kind: str) -> dict[str, int]:
        return self.summary[kind]


def import_file(path: Path, *args: str) -> Outcome:
    stdout, stderr = StringIO(), StringIO()
    failed = False
    try:
        call_command("import_history", str(path), *args, stdout=stdout, stderr=stderr)
    except CommandError:
        failed = True
    return Outcome(
        summary=json.loads(stdout.getvalue()),
        errors=[line for line in stderr.getvalue().splitlines() if line],
        failed=failed,
    )


def write_file(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def customer(ref: str, **fields: Any) -> dict[str, Any]:
    return {"type": "customer", "customer_ref": ref, **fields}


def conversation(ref: str, customer_ref: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "conversation",
        "conversation_ref": ref,
        "customer_ref": customer_ref,
        "created_at": "2024-05-01T09:00:00Z",
        **fields,
    }


def message(ref: str, conversation_ref: str, at: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "message_ref": ref,
        "conversation_ref": conversation_ref,
        "direction": "inbound",
        "text": f"Text of {ref}",
        "created_at": at,
        **fields,
    }
