"""Checks shared by the providers' reply parsers: JSON objects, compact dates, halted rows.

Every failure is a `PayloadError` naming where the reply came from and what was wrong with it
(truncated, garbled, wrong shape), so a bad download stops before any gate or write.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from scanctl.providers.base import PayloadError
from scanctl.store.bars import BarRow

_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def json_object(content: bytes, where: str) -> dict[str, Any]:
    """A UTF-8 JSON object, or `PayloadError` saying why not (truncated, garbled, wrong shape)."""
    try:
        payload = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"{where}: not UTF-8 (byte {exc.start}); garbled reply") from None
    except RecursionError:
        raise PayloadError(f"{where}: JSON nested too deeply; garbled reply") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"{where}: invalid JSON at character {exc.pos} of {len(content):,} bytes "
            f"({exc.msg}); truncated or garbled reply"
        ) from None
    if not isinstance(payload, dict):
        raise PayloadError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    return payload


def iso_day(text: Any, where: str) -> str:
    """``YYYYMMDD`` → ``YYYY-MM-DD`` or `PayloadError`."""
    match = _DAY.match(text) if isinstance(text, str) else None
    try:
        if match is None:
            raise ValueError
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        raise PayloadError(f"{where}: invalid date {str(text)[:12]!r}") from None


def halted_row(code: str, day: str, values: Sequence[int], value: int | None) -> BarRow:
    """A bar; a halted day (open/high/low 0, volume 0, a close) becomes the close four times."""
    open_, high, low, close, volume = values
    if open_ == high == low == 0 and volume == 0 and close > 0:
        open_ = high = low = close
    return (day, code, open_, high, low, close, volume, value)
