"""What delivery reports: the report's status order, and `outbox_problems` for `status`."""

from __future__ import annotations

from scanctl.notify.report import ChannelOutcome, DeliveryReport, outbox_problems
from scanctl.store.db import write_transaction
from scanctl.store.outbox import update_notification, upsert_pending, upsert_skipped


def outcome(status: str, channel: str = "ops") -> ChannelOutcome:
    return ChannelOutcome("2025-11-28", "daily", channel, status, 1)


def test_unknown_is_not_ok_and_ranks_after_failed():
    assert DeliveryReport((outcome("sent"), outcome("unknown", "b"))).status == "unknown"
    assert not DeliveryReport((outcome("unknown"),)).ok
    both = DeliveryReport((outcome("unknown"), outcome("failed", "b")))
    assert both.status == "failed" and not both.ok
    assert DeliveryReport((outcome("sent"), outcome("skipped", "b"))).ok
    assert DeliveryReport().status == "none" and DeliveryReport().ok


def test_outbox_problems_lists_failed_unknown_sending_pending_worst_first(db):
    rows = [
        ("2025-11-26", "daily", "ops", "sent"),
        ("2025-11-26", "daily", "hook", "failed"),
        ("2025-11-27", "daily", "ops", "pending"),
        ("2025-11-27", "failure", "ops", "sending"),
        ("2025-11-28", "daily", "ops", "unknown"),
        ("2025-11-28", "test", "ops", "failed"),  # `notify test` rows do not count
    ]
    with write_transaction(db):
        for date, kind, channel, _ in rows:
            upsert_pending(db, date, kind, channel, "{}", f"{date}T18:00:00+09:00")
        upsert_skipped(db, "2025-11-25", "daily", "log", "{}", "2025-11-25T18:00:00+09:00")
    for date, kind, channel, status in rows:
        update_notification(db, date, kind, channel, status=status, last_error=f"{status}!")
    problems = outbox_problems(db)
    assert [(p.date, p.kind, p.channel, p.status) for p in problems] == [
        ("2025-11-26", "daily", "hook", "failed"),
        ("2025-11-28", "daily", "ops", "unknown"),
        ("2025-11-27", "failure", "ops", "sending"),
        ("2025-11-27", "daily", "ops", "pending"),
    ]
    unknown = problems[1].to_record()
    assert unknown["last_error"] == "unknown!" and "notify confirm" in unknown["next_step"]
    assert "--resend-unknown" in unknown["next_step"]
    assert "notify retry" in problems[0].next_step
    assert [p.kind for p in outbox_problems(db, kinds=("test",))] == ["test"]
    assert len(outbox_problems(db, limit=2)) == 2
