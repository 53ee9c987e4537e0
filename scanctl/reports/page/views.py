"""What the daily page shows of one scan date, gathered into plain view objects.

Stored facts come from the store, as subscribers received them: each version's picks
(`scan_rank`) and the run record of its latest successful run of the date (`scan_runs`).
What the store does not keep is recomputed with the current settings, as `inspect` does: the
engines run once more on the date (ENGINES.md §0.2) to draw each pick's last sessions with the
lines its engine reads, and to list the near misses — evaluated tickers that were not picked,
those that got furthest through the engine's checks first (selection-stage reasons such as
`not_in_top_k` or `cutoff` before any failed check), then by score and the universe tie-break.
A version whose latest run failed is not recomputed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.engines import registry
from scanctl.engines.base import EngineInput, EngineResult, SubResult
from scanctl.engines.indicators import compute_indicators
from scanctl.engines.params import RunParams
from scanctl.jobs.prepare import MarketData, load_market_data, prepare_inputs, run_engine
from scanctl.jobs.record import PARTS, pop_record
from scanctl.reports.history import stored_picks
from scanctl.reports.inspect import explain_record
from scanctl.reports.page import labels, svg, texts
from scanctl.store.bar_queries import last_bar_date_on_or_before
from scanctl.store.picks import NORESULT_CODE
from scanctl.store.runs import runs_on

CHART_SESSIONS = 60
NEAR_MISSES = 5  # per engine or sub-engine
# Near-miss candidates explained to compare their scores: those that got as far as the fifth,
# at most this many in traded-value order (a whole-market universe can tie hundreds).
_POOL = 200
_RUN_COLUMNS = ("scanner_version", "trigger", "started_at", "duration_s", "status")
_RUN_COLUMNS += ("matched_count", "error", *PARTS)


@dataclass(frozen=True)
class PickView:
    rank: int | None
    code: str
    name: str
    market: str | None
    score: str
    label: str
    strategy: str
    engine: str
    close: str
    change: float | None
    change_text: str
    chart: svg.Chart | None


@dataclass(frozen=True)
class NearMiss:
    code: str
    name: str
    engine: str
    reason: str
    detail: str
    score: str


@dataclass(frozen=True)
class VersionView:
    version: str
    color: str
    status: str  # ok | failed | none
    run_text: str
    matched_count: int
    picks: tuple[PickView, ...]
    near_misses: tuple[NearMiss, ...]
    near_note: str | None
    record_pairs: tuple[tuple[str, str], ...]
    record_json: str | None
    error: str | None


@dataclass(frozen=True)
class Recomputed:
    """The engines run again on the date: their inputs, results and the panel read."""

    data: MarketData
    inputs: dict[str, EngineInput]
    results: dict[str, EngineResult]


def latest_runs(db: sqlite_utils.Database, day: dt.date) -> dict[str, dict[str, Any]]:
    """Per version, its latest successful run of ``day`` (else its latest run), with the
    run record assembled as ``record``."""
    chosen: dict[str, dict[str, Any]] = {}
    for row in runs_on(db, day.isoformat(), _RUN_COLUMNS):
        previous = chosen.get(row["scanner_version"])
        if previous is None or row["status"] == "ok" or previous["status"] != "ok":
            chosen[row["scanner_version"]] = row
    for row in chosen.values():
        row["record"] = pop_record(row)
    return chosen


def recompute(
    db: sqlite_utils.Database, params: RunParams, day: dt.date, versions: tuple[str, ...]
) -> Recomputed | None:
    """Run ``versions`` again on ``day``; None when there is nothing to run or no bar on it."""
    if not versions or last_bar_date_on_or_before(db, day) != day.isoformat():
        return None
    data = load_market_data(db, day, params.max_lookback(versions), params.market)
    prepared = prepare_inputs(data, day, params, versions)
    return Recomputed(
        data=data,
        inputs={v: prepared.input_for(params, v) for v in versions},
        results={v: run_engine(v, prepared, params) for v in versions},
    )


def version_views(
    db: sqlite_utils.Database, params: RunParams, day: dt.date
) -> tuple[list[VersionView], dict[str, Any] | None]:
    """Every version stored for ``day`` (picks or runs), in registry order, and the market
    condition its runs recorded (None when none did)."""
    _, rows = stored_picks(db, day, None, None)
    runs = latest_runs(db, day)
    versions = sorted({row["scanner_version"] for row in rows} | set(runs), key=registry.sort_key)
    again = tuple(
        v for v in versions if v in registry.names() and runs.get(v, {}).get("status", "ok") == "ok"
    )
    computed = recompute(db, params, day, again)
    views, condition = [], None
    for k, version in enumerate(versions):
        run = runs.get(version)
        record = run["record"] if run else None
        if condition is None and record:
            condition = record.get("market_condition")
        picks = [row for row in rows if row["scanner_version"] == version]
        views.append(_version_view(version, k, run, picks, computed, day))
    return views, condition


def _version_view(
    version: str,
    position: int,
    run: dict[str, Any] | None,
    rows: list[dict[str, Any]],
    computed: Recomputed | None,
    day: dt.date,
) -> VersionView:
    rows = [row for row in rows if row["code"] != NORESULT_CODE]
    status = run["status"] if run else ("ok" if rows else "none")
    record = run["record"] if run else None
    inp = computed.inputs.get(version) if computed else None
    charts = {} if computed is None or inp is None else _charts(computed, inp, rows, day)
    picks = tuple(_pick_view(row, charts.get((row["code"], _engine(row)))) for row in rows)
    near, note = (), "다시 계산하지 않았습니다 (실행 실패 또는 당일 시세 없음)"
    if computed is not None and inp is not None:
        result = computed.results[version]
        near = tuple(near_misses(result, inp, day, {row["code"] for row in rows}))
        note = None if near else "평가된 종목 가운데 추천되지 않은 종목이 없습니다"
        gate = (result.run_record.get("v2") or {}).get("gate")
        if gate and not gate["open"]:
            note = "국면 게이트가 닫혀 종목을 평가하지 않았습니다"
    matched = run["matched_count"] if run and run["matched_count"] is not None else len(rows)
    return VersionView(
        version=version,
        color=labels.VERSION_COLORS[min(position, len(labels.VERSION_COLORS) - 1)],
        status=status,
        run_text=_run_text(run),
        matched_count=int(matched),
        picks=picks,
        near_misses=near,
        near_note=note,
        record_pairs=tuple(texts.record_pairs(record)),
        record_json=None if record is None else json.dumps(record, ensure_ascii=False, indent=1),
        error=_first_line(run.get("error")) if run else None,
    )


def _first_line(text: str | None) -> str | None:
    return text.split("\n")[0] if text else None


def _run_text(run: dict[str, Any] | None) -> str:
    if run is None:
        return "실행 기록 없음"
    started = str(run["started_at"])[:16].replace("T", " ")
    parts = [labels.TRIGGER.get(run["trigger"], run["trigger"]), started]
    if run["duration_s"] is not None:
        parts.append(f"{run['duration_s']:.2f}초")
    parts.append(labels.RUN_STATUS.get(run["status"], run["status"]))
    return " · ".join(parts)


def _engine(row: dict[str, Any]) -> str:
    """The stored `engine` column: the version, or v3's sub-engine."""
    return row["engine"] or row["scanner_version"]


def _pick_view(row: dict[str, Any], chart: svg.Chart | None) -> PickView:
    change = row["change_rate"]
    return PickView(
        rank=row["rank"],
        code=row["code"],
        name=row["name"] or row["code"],
        market=row["market"],
        score="-" if row["score"] is None else f"{row['score']:.1f}",
        label=row["score_label"] or "-",
        strategy=row["strategy"] or "-",
        engine=_engine(row),
        close="-" if row["close_price"] is None else f"{row['close_price']:,}",
        change=change,
        change_text="-" if change is None else f"{change:+.2f}%",
        chart=chart,
    )


def _charts(
    computed: Recomputed, inp: EngineInput, rows: list[dict[str, Any]], day: dt.date
) -> dict[tuple[str, str], svg.Chart]:
    """(code, engine) → the last `CHART_SESSIONS` bars of each pick with its engine's lines.

    The engines keep only the last rows of each series; the picks' columns are computed again
    over their whole windows (the same column-wise recursion, so the same values).
    """
    columns = np.searchsorted(inp.codes, [row["code"] for row in rows])
    known = [
        (row, int(col))
        for row, col in zip(rows, columns, strict=True)
        if col < len(inp.codes) and inp.codes[col] == row["code"] and inp.window.n_bars[col]
    ]
    if not known:
        return {}
    window = inp.window
    cols = [col for _, col in known]
    fields = ("open", "high", "low", "close", "volume")
    series = compute_indicators(*(getattr(window, name)[:, cols] for name in fields))
    panel = computed.data.panel
    end = int(np.searchsorted(panel.dates, np.datetime64(day, "D"), side="right"))
    charts = {}
    for k, (row, col) in enumerate(known):
        n = min(CHART_SESSIONS, int(window.n_bars[col]))
        bars = {name: getattr(window, name)[-n:, col] for name in fields[:4]}
        lines = {
            name: (labels.LINE_COLORS.get(name, "#495057"), getattr(series, name)[-n:, k])
            for name in labels.LINES.get(_engine(row), ())
        }
        at = panel.code_index(row["code"])  # the engines' columns are a subset of the panel's
        traded = panel.dates[:end][~np.isnan(panel.close[:end, at])]
        dates = [str(day) for day in traded[-n:]]
        charts[(row["code"], _engine(row))] = svg.price_chart(dates, bars, lines)
    return charts


def near_misses(
    result: EngineResult, inp: EngineInput, day: dt.date, picked: set[str]
) -> list[NearMiss]:
    """Per (sub-)engine, the `NEAR_MISSES` evaluated tickers not picked that got furthest."""
    out = []
    for sub in result.subs:
        out += _sub_near_misses(result, sub, inp, day, picked)
    return out


def _sub_near_misses(
    result: EngineResult, sub: SubResult, inp: EngineInput, day: dt.date, picked: set[str]
) -> list[NearMiss]:
    depth = np.zeros(inp.n_tickers, dtype=np.int64)
    passing = sub.evaluated.copy()
    for check in sub.checks.checks:
        passing &= check.passed
        depth += passing
    candidates = np.flatnonzero(sub.evaluated & ~np.isin(inp.codes, list(picked)))
    if not len(candidates):
        return []
    value = inp.universe.traded_value[candidates]
    order = candidates[
        np.lexsort(
            (inp.codes[candidates], np.where(np.isnan(value), np.inf, -value), -depth[candidates])
        )
    ]
    floor = depth[order[min(NEAR_MISSES, len(order)) - 1]]
    pool = [int(i) for i in order[:_POOL] if depth[i] >= floor]
    records = {i: explain_record(result, sub, i, inp, day) for i in pool}

    def key(item: tuple[int, int]) -> tuple[int, float, int]:
        position, index = item
        score = records[index].get("score")
        return (-int(depth[index]), -(score if score is not None else -np.inf), position)

    ranked = [index for _, index in sorted(enumerate(pool), key=key)][:NEAR_MISSES]
    engine = labels.SUB_ENGINE.get(sub.name, sub.name) if sub.name != result.version else ""
    return [_near_miss(records[i], engine) for i in ranked]


def _near_miss(record: dict[str, Any], engine: str) -> NearMiss:
    failed = next((c for c in record["checks"] if not c["passed"]), None)
    if failed is not None:
        measured = " · ".join(f"{k} {texts.number(v)}" for k, v in failed["values"].items())
        limits = " · ".join(f"{k} {texts.number(v)}" for k, v in failed["thresholds"].items())
        detail = f"{measured} (기준 {limits})" if limits else measured
    else:
        effective = (record.get("flags") or {}).get("effective_score")
        detail = "모든 조건 통과"
        if effective is not None:
            detail += f", 유효 점수 {effective:.2f}"
    score = record.get("score")
    return NearMiss(
        code=record["ticker"],
        name=record["name"] or record["ticker"],
        engine=engine,
        reason=labels.reason(record["reason"]),
        detail=detail,
        score="-" if score is None else f"{score:.1f}",
    )
