"""Log lines on stderr: ``key=value`` text by default, one JSON object a line with --log-json.

A text line is ``<time> <level> <command>: <message> key=value …`` (``2026-01-05T15:42:07+09:00
info scan: version done version=v2``), so a cron mail reads without context; time stamps are
Asia/Seoul, like every date scanctl shows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from scanctl.clock import KST

LOGGER = "scanctl"


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool, command: str = "") -> None:
        super().__init__()
        self.as_json = as_json
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        stamp = dt.datetime.fromtimestamp(record.created, KST).isoformat(timespec="seconds")
        level = record.levelname.lower()
        if self.as_json:
            body = {"ts": stamp, "level": level, "command": self.command}
            body["msg"] = record.getMessage()
            return json.dumps({**body, **fields}, ensure_ascii=False, default=str)
        extra = "".join(f" {key}={value}" for key, value in fields.items())
        command = f"{self.command}: " if self.command else ""
        return f"{stamp} {level} {command}{record.getMessage()}{extra}"


def configure_logging(
    verbose: int = 0, quiet: bool = False, as_json: bool = False, command: str = ""
) -> None:
    """Route the ``scanctl`` logger to stderr at the level the flags ask for; ``command`` names
    the command on every line."""
    logger = logging.getLogger(LOGGER)
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json, command))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)


def logs_as_json(logger: logging.Logger) -> bool:
    """Whether ``logger`` writes JSON lines (``--log-json``)."""
    return any(getattr(h.formatter, "as_json", False) for h in logger.handlers)


def get_logger(name: str) -> logging.Logger:
    """A child of the ``scanctl`` logger; pass fields as ``extra={"fields": {...}}``."""
    return logging.getLogger(f"{LOGGER}.{name}")
