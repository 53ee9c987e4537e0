"""Hand-built engine inputs for tests: a few tickers with chosen values, no prices to derive.

Engines read their inputs only through `EngineInput` (window, indicators, scalars, master,
universe, condition). These builders fill every field directly, so a test states exactly the
value a threshold sees ("RSI_TEMA on bar t is 83.0") instead of searching for a price path
that produces it.

API
---
``make_input(tickers, condition=None, *, date=DATE, rows=ROWS) -> EngineInput``
    One column per mapping in ``tickers`` (order kept). Keys of a ticker mapping:

    * identity — ``code`` (default ``T0001``, ``T0002`` … by position), ``name`` (default the
      code), ``market`` ("KOSPI"), ``security_type`` ("stock"), ``managed``, ``halted`` (False);
    * universe — ``member`` (True), ``traded_value`` (1e10; NaN without a bar on D),
      ``why`` (None for members, else "rank"), ``market_rank`` (1 for members, else 0);
    * window — ``n_bars`` (``rows``), ``bar_on_date`` (True), and the bar fields ``open``,
      ``high``, ``low``, ``close`` (10_000), ``volume`` (1e6), ``value`` (close × volume);
    * any `Indicators` field (``TEMA20``, ``RSI_TEMA``, ``VOL_MA5`` …; default NaN);
    * any `Scalars` field (``ABOVE_CNT5``, ``cross``, ``turnover20`` …; defaults False for the
      four booleans, 0 for the int64 counts, NaN for the floats; ``n_bars`` follows the
      window).

    Values of window and indicator fields: a number sets every bar of the ticker to it; a
    sequence sets the last ``len(seq)`` bars (the last item is bar t) and earlier bars take
    its first item. Rows before the ticker's first bar are NaN (``n_bars < rows`` gives a
    short window). Scalar fields take one value. An unknown key raises KeyError.

``ticker(code, *layers, **fields) -> dict``
    The mappings ``layers`` merged in order, then ``fields``, with ``code`` — e.g.
    ``ticker("A", BASE, RSI_TEMA=83.0)`` is BASE with one value changed.

``condition(status="ok", **fields) -> MarketCondition``
    Status ``ok``: sentiment, regimes and risk default to neutral / 0, ``thresholds`` to the
    neutral row of ENGINES.md §3.2 (a `Thresholds`, or a mapping of overrides);
    ``divergence_type`` sets ``market_divergence``. Any other status gives the §3.1 object
    with only status and reason filled. Extra keyword arguments set `MarketCondition`
    fields directly.

``thresholds(**overrides) -> Thresholds``
    The neutral row (58.0, 3, 0.0, 1.6, 0.025, 0.025) with overrides.

``index_of(inp, code) -> int``
    The column of ``code``.

Constants: ``DATE`` (2025-06-02, a Monday), ``ROWS`` (30).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scanctl.engines.base import EngineInput
from scanctl.engines.indicators import Indicators
from scanctl.engines.scalars import Scalars
from scanctl.market.condition import MarketCondition, Thresholds
from scanctl.market.universe import Universe
from scanctl.market.window import Window
from scanctl.store.tickers import TickerMaster

DATE = dt.date(2025, 6, 2)
ROWS = 30

_IDENTITY = {
    "code": None,
    "name": None,
    "market": "KOSPI",
    "security_type": "stock",
    "managed": False,
    "halted": False,
}
_UNIVERSE = {"member": True, "traded_value": 1e10, "why": None, "market_rank": None}
_WINDOW = {"n_bars": None, "bar_on_date": True}
_BARS = ("open", "high", "low", "close", "volume", "value")
_BAR_DEFAULTS = {"close": 10_000.0, "volume": 1e6}
_INDICATORS = tuple(f.name for f in dataclasses.fields(Indicators))
_SCALARS = tuple(f.name for f in dataclasses.fields(Scalars) if f.name != "n_bars")
_BOOL_SCALARS = ("cross", "crossed_recently", "macd_golden_cross", "macd_line_up")
_INT_SCALARS = ("ABOVE_CNT5", "up_days5", "macd_duration")
_KNOWN = (*_IDENTITY, *_UNIVERSE, *_WINDOW, *_BARS, *_INDICATORS, *_SCALARS)


def ticker(code: str, *layers: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A ticker mapping for `make_input`: ``layers`` merged in order, then ``fields``."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return {**merged, **fields, "code": code}


def thresholds(**overrides: Any) -> Thresholds:
    """The neutral row of the §3.2 threshold table, with ``overrides``."""
    neutral = Thresholds(
        rsi_threshold=58.0,
        min_signals=3,
        macd_osc_min=0.0,
        vol_ma5_mult=1.6,
        gap_max=0.025,
        ext_from_tema20_max=0.025,
    )
    return dataclasses.replace(neutral, **overrides)


def condition(status: str = "ok", **fields: Any) -> MarketCondition:
    """A `MarketCondition` with chosen fields (see the module docstring)."""
    if status != "ok":
        reason = fields.pop("reason", "kospi_proxy_missing" if status == "unknown" else None)
        return MarketCondition(status, reason, None, None, None, (), **fields)
    given = fields.pop("thresholds", None)
    if not isinstance(given, Thresholds):
        given = thresholds(**(given or {}))
    divergence = fields.pop("divergence_type", "")
    sentiment = fields.pop("market_sentiment", "neutral")
    base: dict[str, Any] = {
        "market_sentiment": sentiment,
        "final_regime": "neutral",
        "midterm_regime": fields.get("final_regime", "neutral"),
        "longterm_regime": "neutral",
        "short_term_risk_score": 0,
        "global_trend_score": 0.0,
    }
    base.update(fields)
    return MarketCondition(
        "ok",
        None,
        "KOSPI",
        "KOSDAQ",
        "069500",
        (),
        thresholds=given,
        market_divergence=bool(divergence),
        divergence_type=divergence,
        **base,
    )


_default_condition = condition


def index_of(inp: EngineInput, code: str) -> int:
    """The column of ``code`` in ``inp``."""
    return int(np.flatnonzero(inp.codes == code)[0])


def make_input(
    tickers: Sequence[Mapping[str, Any]],
    condition: MarketCondition | None = None,
    *,
    date: dt.date = DATE,
    rows: int = ROWS,
) -> EngineInput:
    """An `EngineInput` with one column per ticker mapping (keys: the module docstring)."""
    specs = []
    for position, spec in enumerate(tickers, start=1):
        unknown = sorted(set(spec) - set(_KNOWN))
        if unknown:
            raise KeyError(f"unknown ticker field(s) {unknown}; known: {', '.join(_KNOWN)}")
        spec = {**_IDENTITY, **_UNIVERSE, **_WINDOW, **spec}
        spec["code"] = spec["code"] or f"T{position:04d}"
        spec["name"] = spec["name"] or spec["code"]
        spec["n_bars"] = rows if spec["n_bars"] is None else spec["n_bars"]
        if spec["market_rank"] is None:
            spec["market_rank"] = 1 if spec["member"] else 0
        if spec["why"] is None and not spec["member"]:
            spec["why"] = "rank"
        specs.append(spec)

    codes = np.array([s["code"] for s in specs])
    n_bars = np.array([min(s["n_bars"], rows) for s in specs], dtype=np.int64)
    bar_on_date = np.array([bool(s["bar_on_date"]) for s in specs])

    def column(value: Any, bars: int) -> np.ndarray:
        out = np.full(rows, np.nan)
        if bars == 0:
            return out
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))[-bars:]
        out[rows - bars :] = values[0]
        out[rows - len(values) :] = values
        return out

    def panel(name: str, default: Any = np.nan) -> np.ndarray:
        cols = [column(s.get(name, default), int(b)) for s, b in zip(specs, n_bars, strict=True)]
        return np.stack(cols, axis=1) if cols else np.full((rows, 0), np.nan)

    bars = {name: panel(name, _BAR_DEFAULTS.get(name, np.nan)) for name in ("close", "volume")}
    for name in ("open", "high", "low"):  # default: the close
        given = panel(name)
        bars[name] = np.where(np.isnan(given), bars["close"], given)
    value = panel("value")
    bars["value"] = np.where(np.isnan(value), bars["close"] * bars["volume"], value)

    last = np.full(len(specs), np.datetime64("NaT"), dtype="datetime64[D]")
    first = last.copy()
    day = np.datetime64(date, "D")
    for i, (on_date, count) in enumerate(zip(bar_on_date, n_bars, strict=True)):
        if count:
            last[i] = day if on_date else np.busday_offset(day, -1, roll="backward")
            first[i] = np.busday_offset(last[i], -(int(count) - 1), roll="backward")
    window = Window(
        date=date,
        codes=codes,
        **bars,
        n_bars=n_bars,
        bar_on_date=bar_on_date & (n_bars > 0),
        first_date=first,
        last_date=last,
    )
    indicators = Indicators(**{name: panel(name) for name in _INDICATORS})
    scalars = Scalars(**{name: _scalar(specs, name) for name in _SCALARS}, n_bars=n_bars)
    objects = {k: np.array([s[k] for s in specs], dtype=object) for k in ("name", "market")}
    master = TickerMaster(
        codes=codes,
        names=objects["name"],
        markets=objects["market"],
        security_types=np.array([s["security_type"] for s in specs], dtype=object),
        managed=np.array([bool(s["managed"]) for s in specs]),
        halted=np.array([bool(s["halted"]) for s in specs]),
    )
    member = np.array([bool(s["member"]) for s in specs])
    traded = np.array([float(s["traded_value"]) for s in specs])
    universe = Universe(
        date=date,
        codes=codes,
        markets=objects["market"],
        eligible=member | np.array([s["why"] == "rank" for s in specs]),
        why=np.array([s["why"] for s in specs], dtype=object),
        market_rank=np.array([s["market_rank"] for s in specs], dtype=np.int64),
        traded_value=np.where(window.bar_on_date, traded, np.nan),
        member=member,
        kospi_limit=0,
        kosdaq_limit=0,
        unknown_security_types=0,
        unknown_security_member=np.zeros(len(specs), dtype=bool),
    )
    return EngineInput(
        date=date,
        window=window,
        indicators=indicators,
        scalars=scalars,
        master=master,
        universe=universe,
        condition=condition if condition is not None else _default_condition(),
    )


def _scalar(specs: list[dict[str, Any]], name: str) -> np.ndarray:
    if name in _BOOL_SCALARS:
        return np.array([bool(s.get(name, False)) for s in specs], dtype=bool)
    if name in _INT_SCALARS:
        return np.array([int(s.get(name, 0)) for s in specs], dtype=np.int64)
    return np.array([float(s.get(name, np.nan)) for s in specs], dtype=np.float64)
