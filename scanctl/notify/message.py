"""What a notification says: the daily result, a failure alert, a test, rendered once per run.

A `Message` is the channel-independent content: plain text (channels escape and split it),
the AlimTalk variables ``#{s_date}`` (``YYYY년 MM월 DD일``), ``#{s_num}`` (the headline count)
and ``#{c_name}``, and a small JSON-able ``data`` object for the generic webhook. It is stored
as the outbox row's payload and read back for delivery, so it round-trips through JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from scanctl.clock import stored_date
from scanctl.notify.config import NotifySettings

KINDS = ("daily", "failure", "test")
DEFAULT_C_NAME = "고객님"
MAX_ERROR_CHARS = 500


class VersionSummary(TypedDict, total=False):
    """What the scan tells the notifier about one version of the run."""

    status: str  # ok | failed
    matched_count: int
    picks: Sequence[Mapping[str, Any]]  # pick records (ENGINES.md §8.1)
    error: str  # for failed versions


@dataclass(frozen=True)
class Message:
    """One notification: kind (daily, failure, test), the run date, text and variables."""

    kind: str
    date: dt.date
    text: str
    variables: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"message kind {self.kind!r}: expected one of {', '.join(KINDS)}")

    def to_payload(self) -> dict[str, Any]:
        """The JSON object stored in the outbox and POSTed by the generic webhook."""
        return {
            "kind": self.kind,
            "date": self.date.isoformat(),
            "text": self.text,
            "variables": dict(self.variables),
            "data": dict(self.data),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_payload(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Message:
        """The message stored by `to_json`.

        Raises
        ------
        ValueError
            The text is not a stored message.
        """
        try:
            payload = json.loads(text)
            return cls(
                kind=payload["kind"],
                date=stored_date(payload["date"]),
                text=payload["text"],
                variables=dict(payload.get("variables") or {}),
                data=dict(payload.get("data") or {}),
            )
        except (TypeError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a stored message ({type(exc).__name__}: {exc})") from None


def korean_date(day: dt.date) -> str:
    """``2025년 11월 03일``."""
    return f"{day.year}년 {day.month:02d}월 {day.day:02d}일"


def daily_message(
    date: dt.date,
    versions: Mapping[str, VersionSummary],
    settings: NotifySettings,
    caught_up: Sequence[dt.date] = (),
) -> Message | None:
    """The one daily message of a run, or None when there is nothing to say.

    Parameters
    ----------
    date
        The scan date.
    versions
        version → summary (`VersionSummary`): ``status`` ok|failed, ``matched_count`` and the
        ranked ``picks`` of each version run.
    settings
        ``top_n`` picks listed per version, ``min_matched`` gate, template and ``c_name``.
    caught_up
        Earlier sessions this run scanned first (missed ones); the message names them.

    Returns
    -------
    Message | None
        None when no version succeeded, or the headline count (the largest matched count of
        the successful versions) is below ``settings.min_matched``.
    """
    succeeded = {v: s for v, s in versions.items() if s.get("status") == "ok"}
    if not succeeded:
        return None
    count = max(int(summary.get("matched_count") or 0) for summary in succeeded.values())
    if count < settings.min_matched:
        return None
    day = korean_date(date)
    data: dict[str, Any] = {"count": count, "versions": {}}
    lines: list[str] = []
    for version in sorted(versions):
        summary = versions[version]
        status = str(summary.get("status") or "failed")
        matched = int(summary.get("matched_count") or 0)
        picks = [_pick(p) for p in _ranked(summary.get("picks") or ())][: settings.top_n]
        data["versions"][version] = {"status": status, "matched_count": matched, "picks": picks}
        lines.extend(_version_lines(version, status, matched, picks))
    if caught_up:
        days = ", ".join(f"{d.month:02d}월 {d.day:02d}일" for d in caught_up)
        lines.append(f"\n(밀린 세션 반영: {days})")
        data["caught_up"] = [d.isoformat() for d in caught_up]
    block = "\n".join(lines)
    if settings.template_text is not None:
        text = settings.template_text.format_map({"date": day, "count": count, "versions": block})
    else:
        text = f"[scanctl] {day} 스캔 결과\n추천 종목 {count}개\n\n{block}"
    return Message(
        kind="daily",
        date=date,
        text=text.strip("\n"),
        variables=_variables(day, count, settings.c_name),
        data=data,
    )


def failure_message(
    date: dt.date, failures: Mapping[str, str], settings: NotifySettings | None = None
) -> Message:
    """The operator alert for versions that failed: version → error text (cut to 500 chars)."""
    day = korean_date(date)
    lines = [f"[scanctl] {day} 스캔 실패: {', '.join(sorted(failures))}"]
    errors = {}
    for version in sorted(failures):
        error = _clip(str(failures[version]).strip() or "unknown error", MAX_ERROR_CHARS)
        errors[version] = error
        lines.append(f"■ {version}: {error}")
    lines.append("`scanctl runs` shows the details.")
    c_name = settings.c_name if settings else DEFAULT_C_NAME
    return Message(
        kind="failure",
        date=date,
        text="\n".join(lines),
        variables=_variables(day, len(failures), c_name),
        data={"failures": errors},
    )


def test_message(now: dt.datetime, settings: NotifySettings | None = None) -> Message:
    """A test message stamped with ``now`` (its date is the outbox date)."""
    day = korean_date(now.date())
    c_name = settings.c_name if settings else DEFAULT_C_NAME
    text = (
        f"[scanctl] 테스트 메시지 {day} {now:%H:%M}\n"
        "이 메시지가 보이면 알림 채널 설정이 올바릅니다."
    )
    return Message(
        kind="test",
        date=now.date(),
        text=text,
        variables=_variables(day, 0, c_name),
        data={"sent_at": now.isoformat(timespec="seconds")},
    )


test_message.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _variables(day: str, count: int, c_name: str) -> dict[str, str]:
    return {"#{s_date}": day, "#{s_num}": str(count), "#{c_name}": c_name}


def _ranked(picks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Picks by rank (stable; v3 ranks per sub-engine, so its sub-engines interleave)."""

    def rank(pick: Mapping[str, Any]) -> float:
        value = pick.get("rank")
        return float(value) if isinstance(value, numbers.Real) else math.inf

    return sorted(picks, key=rank)


def _pick(pick: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-able part of a pick record shown in messages (numpy scalars become floats)."""
    score = pick.get("score")
    score = float(score) if score is not None and math.isfinite(float(score)) else None
    rank = pick.get("rank")
    return {
        "rank": int(rank) if rank is not None else None,
        "ticker": str(pick.get("ticker") or ""),
        "name": str(pick.get("name") or pick.get("ticker") or ""),
        "market": pick.get("market"),
        "score": score,
        "score_label": pick.get("score_label"),
        "strategy": pick.get("strategy"),
    }


def _version_lines(version: str, status: str, matched: int, picks: list[dict]) -> list[str]:
    if status != "ok":
        return [f"■ {version}: 실패" if status == "failed" else f"■ {version}: {status}"]
    if matched == 0:
        return [f"■ {version}: 0개 (추천종목 없음)"]
    lines = [f"■ {version}: {matched}개"]
    for number, pick in enumerate(picks, start=1):
        parts = [f" {number}. {pick['name']}({pick['ticker']})"]
        if pick["score"] is not None:
            parts.append(f"{pick['score']:.1f}점")
        if pick["strategy"]:
            parts.append(f"· {pick['strategy']}")
        lines.append(" ".join(parts))
    if picks and matched > len(picks):
        lines.append(f" 외 {matched - len(picks)}개")
    return lines


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
