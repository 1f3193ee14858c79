"""Reading training and cut configs: JSON files whose faults are input errors, not tracebacks."""
from __future__ import annotations

import json
from pathlib import Path

from ...errors import InvalidInputError

__all__ = ["read_json"]


def read_json(path: str | Path, what: str) -> dict:
    """The JSON object in ``path``; a missing, unreadable or malformed file is an InvalidInputError."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise InvalidInputError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInputError(f"{path}: the {what} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: the {what} must be a JSON object, got {type(data).__name__}")
    return data
