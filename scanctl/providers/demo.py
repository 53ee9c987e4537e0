"""The offline demo market: a deterministic synthetic KOSPI/KOSDAQ behind `scanctl data demo`.

One ``numpy.random.default_rng(seed)`` draws everything in a fixed order: the same (sessions,
n_tickers, seed) give byte-identical arrays. The model, per session t and ticker i:

* **Tickers.** ~35 % KOSPI / ~65 % KOSDAQ: stocks in 12 sectors (names from syllables + sector
  words), preferreds (the common code with a final 5, name + 우), ETFs (KODEX/TIGER/…, with
  leveraged, inverse and bond funds; always ``069500`` KODEX 200 and ``229200`` KODEX
  코스닥150), ETNs, SPACs (``…스팩N호``), REITs, managed and halted issues (no bars over their
  last 2–30 sessions), short halts, and listings with < 21 and < 60 bars (the latest ~1 % get
  alphanumeric codes such as ``0126Z0``).
* **Log return** ``β·m + γ·k + λ·f_sector + d + σ·ε``: m (= the KOSPI index log return) has a
  bull/neutral/bear Markov regime, crash days and volatility aftershocks; k is the KOSDAQ
  factor (KOSDAQ index = 1.1·m + k); f are sector factors with drifting means; d is a stock
  drift that switches now and then (trend episodes); ε is unit-variance Student-t (5 d.f.).
  Funds load on what they track (2× leveraged, −1× inverse); preferreds share their common
  stock's shocks.
* **The last 80 sessions** of m are a steady uptrend (log level = 0.14 %/session trend + a
  deviation bounded by 0.4 %): every 20-session KOSPI return is about +2 … +3.7 %, days are
  quiet, the last one is up, and the market condition ends `neutral`.
* **Bars.** close = previous close · e^r within ±30 % of the previous close (not on a listing
  day), reflected off 600 KRW; the open gap carries part of the move, wicks scale with σ; all
  prices on the KRX tick grid (2023 table), ≥ 500 KRW, OHLC-consistent. Halts have no bar.
* **Volume** = base traded value / price (damped) × a persistent AR(1) regime × market activity
  × spikes on large moves × noise; value = (h + l + 2c)/4 · volume · (1 ± 0.4 %).
* **Planted patterns** in a few liquid stocks give the engines work on the last session:
  steady mid-term uptrends; momentum set-ups (uptrend, light-volume dip, two up sessions, the
  last on ~2.7× the 5-session mean volume); pullbacks (a 20-session high 3–7 sessions back, a
  quiet slide to the 20-session EMA, an up bar).

The model lives in `scanctl.providers.demo_model` (tickers, factors, index bars) and
`scanctl.providers.demo_walk` (the session walk). `open_demo_market` draws the tickers and
reserves the random numbers, then walks the sessions a block at a time: `install_demo_market`
writes each block as it comes, so a ten-year market is never held whole; `generate_demo_market`
gathers the blocks into arrays (the same bytes) for callers that want them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.clock import now_kst
from scanctl.errors import BadInput
from scanctl.market.calendar import KrxCalendar
from scanctl.providers.demo_model import factors, index_rows, layout
from scanctl.providers.demo_walk import BLOCK_SESSIONS, FIELDS, SessionBlock, SessionWalk
from scanctl.store import bars as store
from scanctl.store.bar_queries import other_source
from scanctl.store.db import write_transaction

DEMO_SOURCE = "demo"
DEFAULT_TICKERS = 2700
MIN_TICKERS, MAX_TICKERS = 40, 4_000


@dataclass(frozen=True, eq=False)
class DemoStream:
    """A demo market whose bars are walked on demand: `blocks` yields them a block of sessions
    at a time (each call walks again, with the same result).

    ``tickers`` are the ticker-master rows in column order (codes ascending); ``index_rows``
    are the KOSPI and KOSDAQ index bars of every session (2-decimal floats).
    """

    sessions: tuple[dt.date, ...]
    tickers: list[store.TickerRow]
    index_rows: list[store.IndexBarRow]
    walk: SessionWalk
    order: np.ndarray  # generation column of each code-ordered column

    def blocks(self) -> Iterator[SessionBlock]:
        return self.walk.blocks(self.order)


@dataclass(frozen=True, eq=False)
class DemoMarket:
    """A generated market over (sessions × tickers), held in memory.

    ``tickers`` are the ticker-master rows in column order (codes ascending); ``open`` … ``value``
    are ``(S, N)`` int64 arrays (read-only, 0 where there is no bar); ``has_bar`` is ``(S, N)``
    bool, False before a listing and on halts; ``index_rows`` are the KOSPI and KOSDAQ index
    bars of every session (2-decimal floats).
    """

    sessions: tuple[dt.date, ...]
    tickers: list[store.TickerRow]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    has_bar: np.ndarray
    index_rows: list[store.IndexBarRow]

    def bar_rows(self, start: int = 0, stop: int | None = None) -> Iterator[store.BarRow]:
        """``(date, code, open, high, low, close, volume, value)`` of every bar of the sessions
        ``start … stop-1`` (all by default), in (date, code) order."""
        codes = np.array([ticker.code for ticker in self.tickers], dtype=object)
        fields = (self.open, self.high, self.low, self.close, self.volume, self.value)
        stop = len(self.sessions) if stop is None else min(stop, len(self.sessions))
        for row in range(start, stop):
            cols = np.flatnonzero(self.has_bar[row])
            day = itertools.repeat(self.sessions[row].isoformat())
            values = (field[row, cols].tolist() for field in fields)
            yield from zip(day, codes[cols].tolist(), *values, strict=False)

    def index_bar_rows(self) -> Iterator[store.IndexBarRow]:
        """``(date, index_code, open, high, low, close, volume)`` of every index bar."""
        return iter(self.index_rows)

    def blocks(self) -> Iterator[SessionBlock]:
        """All sessions as one block."""
        arrays = {name: getattr(self, name) for name in (*FIELDS, "has_bar")}
        yield SessionBlock(start=0, **arrays)


def open_demo_market(
    sessions: Sequence[dt.date],
    n_tickers: int = DEFAULT_TICKERS,
    seed: int = 0,
    block_sessions: int = BLOCK_SESSIONS,
) -> DemoStream:
    """Draw the demo market over ``sessions``, ready to walk (pure and deterministic).

    Parameters
    ----------
    sessions
        XKRX session dates, strictly ascending; the engines will scan the last one. Markets of
        80 sessions or fewer are valid but have neither the steady tail nor the patterns.
    n_tickers
        `MIN_TICKERS` … `MAX_TICKERS`; the type and market mix scales with it.
    seed
        Seed of the one random generator.
    block_sessions
        Sessions walked at a time (memory, not the market: any value gives the same bars).

    Raises
    ------
    BadInput
        No sessions, sessions not strictly ascending, or a ticker count out of range.
    """
    days = tuple(sessions)
    if not days or any(later <= earlier for earlier, later in itertools.pairwise(days)):
        raise BadInput("the demo market needs one or more strictly ascending session dates")
    if not MIN_TICKERS <= n_tickers <= MAX_TICKERS:
        raise BadInput(f"--tickers must be {MIN_TICKERS} … {MAX_TICKERS}; got {n_tickers}")
    rng = np.random.default_rng(seed)
    spec = layout(rng, n_tickers, days)
    market_factors = factors(rng, len(days))
    walk = SessionWalk(rng, spec, market_factors, block_sessions)
    columns = {"code": spec.codes, "name": spec.names, "market": spec.markets.tolist()}
    columns |= {"security_type": spec.kind.tolist(), "managed": spec.managed.tolist()}
    columns |= {"halted": spec.halt_cells[-1].tolist(), "listed_on": spec.listed_on}
    order = np.argsort(np.array(spec.codes))
    tickers = [store.TickerRow(**{k: v[i] for k, v in columns.items()}) for i in order]
    indexes = index_rows(rng, days, market_factors)
    return DemoStream(sessions=days, tickers=tickers, index_rows=indexes, walk=walk, order=order)


def generate_demo_market(
    sessions: Sequence[dt.date], n_tickers: int = DEFAULT_TICKERS, seed: int = 0
) -> DemoMarket:
    """The demo market of `open_demo_market`, walked whole into read-only arrays.

    Raises
    ------
    BadInput
        As `open_demo_market`.
    """
    stream = open_demo_market(sessions, n_tickers, seed)
    blocks = list(stream.blocks())
    arrays = {}
    for name in (*FIELDS, "has_bar"):
        arrays[name] = np.concatenate([getattr(block, name) for block in blocks])
        arrays[name].flags.writeable = False
    return DemoMarket(
        sessions=stream.sessions, tickers=stream.tickers, index_rows=stream.index_rows, **arrays
    )


def write_demo_market(
    db: sqlite_utils.Database, market: DemoMarket | DemoStream, *, replace: bool = False
) -> dict[str, int]:
    """Write the tickers, bars (source ``demo``) and index bars in one transaction, the bars a
    block of sessions at a time.

    With ``replace`` the store's market data (tickers, bars, index bars) is deleted first, in
    the same transaction; otherwise rows with the same keys are replaced and others left alone.
    Returns the row counts written, as ``{"tickers": …, "bars": …, "index_bars": …}``.
    """
    days = [day.isoformat() for day in market.sessions]
    codes = [ticker.code for ticker in market.tickers]
    with write_transaction(db):
        if replace:
            store.delete_market_data(db)
        n_tickers = store.upsert_tickers(db, market.tickers)
        n_bars = 0
        for block in market.blocks():
            n_bars += store.upsert_bar_columns(db, _block_columns(block, days, codes), DEMO_SOURCE)
        n_index = store.upsert_index_bars(db, market.index_rows)
    return {"tickers": n_tickers, "bars": n_bars, "index_bars": n_index}


def _block_columns(block: SessionBlock, days: list[str], codes: list[str]) -> store.BarColumns:
    """The bars of a block as store columns (row-major: by date, then code)."""
    rows, cols = np.nonzero(block.has_bar)
    stop = block.start + len(block.has_bar)
    fields = {name: getattr(block, name)[rows, cols] for name in FIELDS}
    return store.BarColumns(
        days=days[block.start : stop], codes=codes, day_of=rows, code_of=cols, **fields
    )


def install_demo_market(
    db: sqlite_utils.Database,
    n_tickers: int = DEFAULT_TICKERS,
    n_sessions: int = 400,
    seed: int = 0,
    calendar: KrxCalendar | None = None,
) -> dict[str, Any]:
    """`scanctl data demo`: replace the store's market with a demo market of ``n_sessions``
    XKRX sessions ending on the latest closed session (Asia/Seoul clock), written as it is
    walked.

    Raises
    ------
    BadInput
        The store holds bars from another source: the demo never mixes with real data.
    """
    real = other_source(db, DEMO_SOURCE)
    if real is not None:
        raise BadInput(
            f"this store holds {real!r} bars; build the demo in its own database (--db demo.db)"
        )
    calendar = calendar or KrxCalendar.from_db(db)
    now = now_kst()
    last = calendar.last_ready_session(now)
    first = last - dt.timedelta(days=2 * n_sessions + 30)
    sessions = calendar.sessions_in_range(first, last)[-n_sessions:]
    market = open_demo_market(sessions, n_tickers=n_tickers, seed=seed)
    counts = write_demo_market(db, market, replace=True)
    return {
        **counts,
        "sessions": len(sessions),
        "first_date": sessions[0].isoformat(),
        "last_date": sessions[-1].isoformat(),
    }
