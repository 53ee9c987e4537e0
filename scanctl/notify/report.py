"""What delivery reports back: per-channel outcomes (JSON-able), and the outbox rows that
need attention (`outbox_problems`, for ``status``); outbox rows are
`scanctl.store.outbox.OutboxRow`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.store import outbox as store

PROBLEM_STATUSES = ("failed", "unknown", "sending", "pending")
"""The outbox states `outbox_problems` lists, worst first."""

NEXT_STEP = {
    "failed": "fix the channel if the error names a setting, then `scanctl notify retry`",
    "unknown": (
        "the message may have arrived: check the channel, then `scanctl notify confirm` if it"
        " did or `scanctl notify retry --resend-unknown` if it did not"
    ),
    "sending": "a delivery is running, or one died: the next delivery marks it unknown",
    "pending": "not sent yet: `scanctl notify retry` sends it",
}
"""What to do about a row in each problem state."""


@dataclass(frozen=True)
class ChannelOutcome:
    """What happened to one outbox row in a delivery run."""

    date: str
    kind: str
    channel: str
    status: str  # sent | failed | unknown | pending | skipped
    attempts: int
    error: str | None = None
    provider_message_id: str | None = None

    @classmethod
    def of(
        cls,
        row: store.Notification,
        status: str,
        attempts: int,
        error: str | None,
        provider_message_id: str | None = None,
    ) -> ChannelOutcome:
        return cls(row.date, row.kind, row.channel, status, attempts, error, provider_message_id)

    def to_record(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DeliveryReport:
    """The outcomes of one delivery run; ``ok`` when every row was sent or skipped.

    A delivery of unknown outcome is not ok: the run exits 5 (results stored, notification not
    confirmed).
    """

    outcomes: tuple[ChannelOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        return all(outcome.status in ("sent", "skipped") for outcome in self.outcomes)

    @property
    def status(self) -> str:
        """``failed`` if any row failed, else ``unknown``, ``pending``, ``sent``, ``skipped``
        (the first found); ``none`` without outcomes."""
        statuses = {outcome.status for outcome in self.outcomes}
        for status in ("failed", "unknown", "pending", "sent", "skipped"):
            if status in statuses:
                return status
        return "none"

    def to_record(self) -> dict:
        return {
            "status": self.status,
            "ok": self.ok,
            "channels": [outcome.to_record() for outcome in self.outcomes],
        }


@dataclass(frozen=True)
class OutboxProblem:
    """One outbox row that is not delivered, or not known to be: what `status` reports."""

    date: str
    kind: str
    channel: str
    status: str  # failed | unknown | sending | pending
    attempts: int
    last_error: str | None
    next_step: str

    def to_record(self) -> dict:
        return asdict(self)


def outbox_problems(
    db: sqlite_utils.Database,
    *,
    kinds: tuple[str, ...] = ("daily", "failure"),
    limit: int = 100,
) -> list[OutboxProblem]:
    """The outbox rows that need attention, for ``scanctl status``: ``failed`` (the channel
    refused, or every attempt failed), ``unknown`` (the message may or may not have arrived),
    ``sending`` (a delivery is in flight, or died), ``pending`` (not sent yet).

    Parameters
    ----------
    kinds
        The message kinds that count (by default not ``test`` messages of `notify test`).
    limit
        At most this many rows, newest date first.

    Returns
    -------
    list[OutboxProblem]
        Worst state first (failed, unknown, sending, pending), newest date first within one;
        empty when every message was delivered (``sent``) or had no channel (``skipped``).
        Each carries ``next_step``, the command that resolves it.
    """
    rows = store.recent_notifications(db, limit, statuses=PROBLEM_STATUSES, kinds=kinds)
    problems = [
        OutboxProblem(
            row.date,
            row.kind,
            row.channel,
            row.status,
            row.attempts,
            row.last_error,
            NEXT_STEP[row.status],
        )
        for row in rows
    ]
    return sorted(problems, key=lambda problem: PROBLEM_STATUSES.index(problem.status))


def row_key(row: store.Notification) -> tuple[str, str, str]:
    """A row's primary key (date, kind, channel)."""
    return row.date, row.kind, row.channel


def outcome_key(outcome: ChannelOutcome) -> tuple[str, str, str]:
    return outcome.date, outcome.kind, outcome.channel


def log_fields(row: store.Notification) -> dict[str, str]:
    """The fields that name a row in a log line."""
    return {"channel": row.channel, "kind": row.kind, "date": row.date}


def stamp() -> str:
    """Now in Asia/Seoul as the outbox stores times (ISO-8601, to the second)."""
    return now_kst().isoformat(timespec="seconds")
