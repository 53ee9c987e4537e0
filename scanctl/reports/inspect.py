"""`scanctl inspect CODE`: why a ticker was (not) picked, from the same arrays the scan uses.

The engines run on the whole universe exactly as in a scan (outsiders included as diagnostics),
then the explain records of ENGINES.md §8.4 are built for the one ticker, and each version's
run record (§8.6) as a scan of the date with the current settings stores it. The indicators shown
are those of the window of the first requested version's lookback (220 for every engine by
default). The default date is the last stored date on or before today (Asia/Seoul).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.clock import stored_date, today_kst
from scanctl.engines.base import (
    INSUFFICIENT_HISTORY,
    NO_BAR_ON_DATE,
    EngineInput,
    EngineResult,
    SubResult,
    plain,
)
from scanctl.engines.params import RunParams
from scanctl.errors import BadInput
from scanctl.jobs.prepare import load_market_data, prepare_inputs, run_engine
from scanctl.jobs.record import full_record, stored_params, stored_record
from scanctl.store.bar_queries import (
    bar_date_range,
    code_first_bar_date,
    code_last_traded_before,
    code_traded_on,
    last_bar_date_on_or_before,
)

NOT_COMPUTABLE = (NO_BAR_ON_DATE, INSUFFICIENT_HISTORY)
SERIES_SHOWN = (
    "TEMA20",
    "DEMA10",
    "EMA20",
    "EMA60",
    "MACD_LINE",
    "MACD_SIGNAL",
    "MACD_OSC",
    "RSI_TEMA",
    "RSI_DEMA",
    "RSI14",
    "OBV",
    "VOL_MA5",
    "VMA20",
    "TEMA20_SLOPE20",
    "OBV_SLOPE20",
    "DEMA10_SLOPE20",
    "EMA60_SLOPE20",
    "ATR14",
)


@dataclass(frozen=True)
class Inspection:
    """The ``inspect --json`` document (PRODUCT.md §3) plus the full explain records."""

    record: dict[str, Any]


def inspect_ticker(
    db: sqlite_utils.Database,
    params: RunParams,
    code: str,
    day: dt.date | None,
    versions: tuple[str, ...],
) -> Inspection:
    """Evaluate ``code`` on ``day`` with every version in ``versions``.

    Raises
    ------
    BadInput
        No bars for ``code``, a date outside the stored range, or no bar of ``code`` on ``day``.
    """
    code = code.strip().upper()
    if code_first_bar_date(db, code) is None:
        raise BadInput(f"no bars stored for ticker {code!r}; check the code or run `data sync`")
    stored_first, stored_last = bar_date_range(db)
    if day is None:
        latest = last_bar_date_on_or_before(db, today_kst())
        day = stored_date(latest or stored_last)
    if not stored_first <= day.isoformat() <= stored_last:
        raise BadInput(
            f"--date {day.isoformat()} is outside the stored bars ({stored_first} … {stored_last})"
        )
    if not code_traded_on(db, code, day):
        before = code_last_traded_before(db, code, day)
        raise BadInput(
            f"{code} has no bar on {day.isoformat()} (reason no_bar_on_date; its last bar before "
            f"is {before or 'none'}); pass --date with a date it traded"
        )
    lookback = params.max_lookback(versions)
    data = load_market_data(db, day, lookback, params.market)
    prepared = prepare_inputs(data, day, params, versions, also=(code,))
    inp = prepared.input_for(params, versions[0])
    index = int(np.searchsorted(inp.codes, code))
    results = {version: run_engine(version, prepared, params) for version in versions}
    condition = prepared.condition.to_record()
    document = _document(inp, index, day, results, condition)
    document["run_records"] = {
        version: full_record(
            condition,
            stored_params(params, version, result.params),
            stored_record(prepared.universe_record, result),
        )
        for version, result in results.items()
    }
    return Inspection(record=document)


def _document(
    inp: EngineInput,
    index: int,
    day: dt.date,
    results: dict[str, EngineResult],
    condition: dict[str, Any],
) -> dict[str, Any]:
    window = inp.window
    indicators = {name: getattr(inp.indicators, name)[-1, index] for name in SERIES_SHOWN}
    scalars = {
        name: value[index]
        for name, value in vars(inp.scalars).items()
        if isinstance(value, np.ndarray)
    }
    return {
        "ticker": str(inp.codes[index]),
        "name": inp.master.names[index],
        "market": inp.master.markets[index],
        "date": day.isoformat(),
        "window": {
            "first": _date(window.first_date[index]),
            "last": _date(window.last_date[index]),
            "bars": int(window.n_bars[index]),
        },
        "in_universe": bool(inp.universe.member[index]),
        "universe": plain(inp.universe.ticker_record(index)),
        "indicators": plain({**indicators, **scalars}),
        "market_condition": condition,
        "versions": {
            version: _version_summary(result, index, inp, day)
            for version, result in results.items()
        },
    }


def _version_summary(
    result: EngineResult, index: int, inp: EngineInput, day: dt.date
) -> dict[str, Any]:
    records = [explain_record(result, sub, index, inp, day) for sub in result.subs]
    if len(records) == 1:
        return _summary(records[0])
    picked = [record for record in records if record["picked"]]
    lead = picked[0] if picked else records[0]
    summary = _summary(lead)
    summary["matched"] = any(record["matched"] for record in records)
    summary["picked"] = bool(picked)
    summary["sub_engines"] = {record["sub_engine"]: _summary(record) for record in records}
    return summary


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    flags = record.get("flags") or {}
    keys = ("matched", "picked", "rank", "reason", "diagnostic_reason", "score", "score_label")
    summary = {key: record.get(key) for key in keys}
    summary["strategy"] = flags.get("trading_strategy")
    summary["flags"] = flags
    summary["checks"] = record["checks"]
    if "steps" in record:
        summary["steps"] = record["steps"]
    return summary


def explain_record(
    result: EngineResult, sub: SubResult, index: int, inp: EngineInput, day: dt.date
) -> dict[str, Any]:
    """The ENGINES.md §8.4 explain record of one ticker for one (sub-)engine."""
    code = str(inp.codes[index])
    pick = next((p for p in sub.picks if p.ticker == code), None)
    record: dict[str, Any] = {
        "date": day.isoformat(),
        "engine": result.version,
        "sub_engine": sub.name if sub.name != result.version else None,
        "ticker": code,
        "name": inp.master.names[index],
        "market": inp.master.markets[index],
        "window": {
            "first": _date(inp.window.first_date[index]),
            "last": _date(inp.window.last_date[index]),
            "bars": int(inp.window.n_bars[index]),
        },
        "universe": plain(inp.universe.ticker_record(index)),
        "evaluated": bool(sub.evaluated[index]),
        "checks": [] if sub.reasons[index] in NOT_COMPUTABLE else sub.checks.explain(index),
        "matched": bool(sub.matched[index]),
        "picked": pick is not None,
        "rank": pick.rank if pick else None,
        "reason": sub.reasons[index],
        "diagnostic_reason": sub.diagnostic_reasons[index],
    }
    if sub.explain_extra is not None:
        record.update(plain(sub.explain_extra(index)))
    return record


def _date(value: np.datetime64) -> str | None:
    return None if np.isnat(value) else str(value)
