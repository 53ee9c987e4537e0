"""What delivery reports back: per-channel outcomes (JSON-able); outbox rows are
`scanctl.store.outbox.OutboxRow`."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ChannelOutcome:
    """What happened to one outbox row in a delivery run."""

    date: str
    kind: str
    channel: str
    status: str  # sent | failed | skipped
    attempts: int
    error: str | None = None
    provider_message_id: str | None = None

    def to_record(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DeliveryReport:
    """The outcomes of one delivery run; ``ok`` when every row was sent or skipped."""

    outcomes: tuple[ChannelOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        return all(outcome.status in ("sent", "skipped") for outcome in self.outcomes)

    @property
    def status(self) -> str:
        """``failed`` if any row failed, else ``sent``, else ``skipped``, else ``none``."""
        statuses = {outcome.status for outcome in self.outcomes}
        for status in ("failed", "sent", "skipped"):
            if status in statuses:
                return status
        return "none"

    def to_record(self) -> dict:
        return {
            "status": self.status,
            "ok": self.ok,
            "channels": [outcome.to_record() for outcome in self.outcomes],
        }
