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

Over 400 lines because the ticker layout, the price model and their constants are one model.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.clock import now_kst
from scanctl.errors import BadInput
from scanctl.market.calendar import KrxCalendar
from scanctl.providers.demo_names import SECTORS, assign_names
from scanctl.store import bars as store
from scanctl.store.bar_queries import other_source
from scanctl.store.db import write_transaction

DEMO_SOURCE = "demo"
DEFAULT_TICKERS = 2700
MIN_TICKERS, MAX_TICKERS = 40, 4_000
KOSPI_SHARE = 950 / 2700
TAIL_SESSIONS = 80  # the steady-uptrend stretch at the end of the market factor
TAIL_DRIFT, TAIL_BOUND = 0.0014, 0.004  # its daily log drift μ and the bound of its deviation
PRICE_LIMIT_UP, PRICE_LIMIT_DOWN = 13, 7  # tenths of the previous close (±30 %)
PRICE_MIN, REFLECT_LOW, REFLECT_HIGH = 500, 600.0, 3_000_000.0
TICK_BOUNDS = np.array([2_000, 5_000, 20_000, 50_000, 200_000, 500_000], dtype=np.float64)
TICK_SIZES = np.array([1, 5, 10, 50, 100, 500, 1_000], dtype=np.float64)
STUDENT_DF = 5.0
CHUNK_SESSIONS = 25  # sessions per upsert_bars call (bounds the row tuples held at once)

# Fund styles: (β on m, γ on k, λ on the sector, σ, daily drift, base price, base value KRW).
_FUND_STYLES = {
    "index": (1.0, 0, 0, 0.0012, 0, 35_000, 2e10), "kosdaq": (1.1, 1, 0, 0.0015, 0, 12_000, 8e9),
    "sector": (1.0, 0, 1, 0.003, 0, 12_000, 3e9), "lev": (2.0, 0, 0, 0.002, 0, 18_000, 6e10),
    "inv": (-1.0, 0, 0, 0.0015, 0, 4_500, 3e10), "inv2x": (-2.0, 0, 0, 0.002, 0, 2_500, 6e10),
    "kq_lev": (2.2, 2, 0, 0.003, 0, 7_000, 4e10), "kq_inv": (-1.1, -1, 0, 0.002, 0, 3_500, 2e10),
    "bond": (0, 0, 0, 3e-4, 1.2e-4, 60_000, 1e10), "foreign": (0.15, 0, 0, 0.01, 4e-4, 15_000, 3e9),
    "etn": (0.1, 0, 0, 0.025, 0, 9_000, 3e8), "spac": (0.02, 0, 0, 0.003, 5e-5, 2_100, 1e8),
    "reit": (0.35, 0, 0, 0.009, 1e-4, 4_500, 5e8),
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class DemoMarket:
    """A generated market over (sessions × tickers).

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


def generate_demo_market(
    sessions: Sequence[dt.date], n_tickers: int = DEFAULT_TICKERS, seed: int = 0
) -> DemoMarket:
    """Generate the demo market over ``sessions`` (pure and deterministic).

    Parameters
    ----------
    sessions
        XKRX session dates, strictly ascending; the engines will scan the last one. Markets of
        80 sessions or fewer are valid but have neither the steady tail nor the patterns.
    n_tickers
        `MIN_TICKERS` … `MAX_TICKERS`; the type and market mix scales with it.
    seed
        Seed of the one random generator.

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
    spec = _layout(rng, n_tickers, days)
    factors = _factors(rng, len(days))
    bars = _simulate(rng, spec, factors)
    columns = {"code": spec.codes, "name": spec.names, "market": spec.markets.tolist()}
    columns |= {"security_type": spec.kind.tolist(), "managed": spec.managed.tolist()}
    columns |= {"halted": spec.halt_cells[-1].tolist(), "listed_on": spec.listed_on}
    order = np.argsort(np.array(spec.codes))
    tickers = [store.TickerRow(**{k: v[i] for k, v in columns.items()}) for i in order]
    arrays = {name: np.ascontiguousarray(array[:, order]) for name, array in bars.items()}
    for array in arrays.values():
        array.flags.writeable = False
    index_rows = _index_rows(rng, days, factors)
    return DemoMarket(sessions=days, tickers=tickers, index_rows=index_rows, **arrays)


def write_demo_market(
    db: sqlite_utils.Database, market: DemoMarket, *, replace: bool = False
) -> dict[str, int]:
    """Write the tickers, bars (source ``demo``) and index bars in one transaction.

    With ``replace`` the store's market data (tickers, bars, index bars) is deleted first, in
    the same transaction; otherwise rows with the same keys are replaced and others left alone.
    Returns the row counts written, as ``{"tickers": …, "bars": …, "index_bars": …}``.
    """
    with write_transaction(db):
        if replace:
            store.delete_market_data(db)
        n_tickers = store.upsert_tickers(db, market.tickers)
        n_bars = 0
        for start in range(0, len(market.sessions), CHUNK_SESSIONS):
            rows = list(market.bar_rows(start, start + CHUNK_SESSIONS))
            n_bars += store.upsert_bars(db, rows, DEMO_SOURCE)
        n_index = store.upsert_index_bars(db, market.index_bar_rows())
    return {"tickers": n_tickers, "bars": n_bars, "index_bars": n_index}


def install_demo_market(
    db: sqlite_utils.Database,
    n_tickers: int = DEFAULT_TICKERS,
    n_sessions: int = 400,
    seed: int = 0,
    calendar: KrxCalendar | None = None,
) -> dict[str, Any]:
    """`scanctl data demo`: replace the store's market with a demo market of ``n_sessions``
    XKRX sessions ending on the latest closed session (Asia/Seoul clock).

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
    market = generate_demo_market(sessions, n_tickers=n_tickers, seed=seed)
    counts = write_demo_market(db, market, replace=True)
    return {
        **counts,
        "sessions": len(sessions),
        "first_date": sessions[0].isoformat(),
        "last_date": sessions[-1].isoformat(),
    }


@dataclass
class _Spec:
    """Per-ticker parameters in generation order (columns are sorted by code at the end)."""

    kind: np.ndarray  # security type
    names: list[str]
    markets: np.ndarray
    sector: np.ndarray
    beta: np.ndarray  # loadings on the market factor m, the KOSDAQ factor k, the sector factor
    gamma: np.ndarray
    lam: np.ndarray
    sigma: np.ndarray  # idiosyncratic daily volatility
    drift: np.ndarray  # constant daily drift (funds, managed issues)
    price0: np.ndarray
    value0: np.ndarray  # typical traded value, KRW
    managed: np.ndarray  # (halted issues are the columns halted on the last session)
    list_start: np.ndarray  # row of the first bar
    halt_cells: np.ndarray  # (S, N): no bar because of a halt
    base: np.ndarray  # a preferred's common stock, else -1
    patterns: dict[str, np.ndarray] = field(default_factory=dict)  # planted pattern -> columns
    codes: list[str] = field(default_factory=list)
    listed_on: list[str] = field(default_factory=list)


def _layout(rng: np.random.Generator, n: int, days: tuple[dt.date, ...]) -> _Spec:
    """Draw the tickers: types, names, markets, loadings, special roles and codes."""
    shares = {"etf": 0.045, "etn": 0.008, "reit": 0.007, "spac": 0.018, "preferred": 0.03}
    sizes = {kind: max(1 + 3 * (kind == "etf"), round(s * n)) for kind, s in shares.items()}
    sizes = {"stock": n - sum(sizes.values()), **sizes}
    kind = np.repeat(list(sizes), list(sizes.values()))
    sector = rng.integers(0, len(SECTORS), n)
    names, styles = assign_names(rng, kind, sector)
    # KOSPI: funds (not 229200), ETNs, REITs, 10 % of SPACs, stocks up to KOSPI_SHARE.
    markets = np.full(n, "KOSPI", dtype=object)
    markets[np.flatnonzero(kind == "etf")[1]] = "KOSDAQ"
    markets[(kind == "spac") & (rng.random(n) < 0.9)] = "KOSDAQ"
    stocks, prefs = np.flatnonzero(kind == "stock"), np.flatnonzero(kind == "preferred")
    n_pref_kospi = round(0.85 * len(prefs))
    others = np.count_nonzero(markets[kind != "stock"] == "KOSPI") - len(prefs) + n_pref_kospi
    n_kospi = min(len(stocks) - 1, max(1, round(KOSPI_SHARE * n) - others))
    markets[rng.permutation(stocks)[n_kospi:]] = "KOSDAQ"
    kospi = markets == "KOSPI"
    spec = _Spec(
        kind=kind,
        names=names,
        markets=markets,
        sector=sector,
        beta=np.clip(rng.normal(np.where(kospi, 1.0, 0.85), 0.25), 0.2, 1.9),
        gamma=np.where(kospi, 0.1, np.clip(rng.normal(1.0, 0.3, n), 0.2, 1.8)),
        lam=rng.uniform(0.6, 1.3, n),
        sigma=np.clip(np.exp(rng.normal(np.log(np.where(kospi, 0.02, 0.028)), 0.3)), 0.007, 0.06),
        drift=np.zeros(n),
        price0=np.clip(np.exp(rng.normal(np.log(np.where(kospi, 18e3, 9e3)), 1.0)), 1e3, 9e5),
        value0=np.exp(rng.normal(np.log(np.where(kospi, 3e9, 2e9)), 1.3)),
        managed=np.zeros(n, dtype=bool),
        list_start=np.zeros(n, dtype=np.int64),
        halt_cells=np.zeros((len(days), n), dtype=bool),
        base=np.full(n, -1, dtype=np.int64),
    )
    for style, (beta, gamma, lam, sigma, drift, price, value) in _FUND_STYLES.items():
        cols = np.flatnonzero(styles == style)
        spec.beta[cols], spec.gamma[cols], spec.lam[cols] = beta, gamma, lam
        spec.sigma[cols], spec.drift[cols] = sigma, drift
        spread = 0.03 if style == "spac" else 0.25
        spec.price0[cols] = np.round(price * np.exp(rng.normal(0, spread, len(cols))), -1)
        spec.value0[cols] = value * np.exp(rng.normal(0, 0.8, len(cols)))
    fixed = np.flatnonzero(kind == "etf")[:2]
    spec.price0[fixed], spec.value0[fixed] = (35_000, 12_000), (3e11, 1e11)
    _special_roles(rng, spec, rng.permutation(stocks).tolist(), prefs, n_pref_kospi)
    age = np.where(kind == "spac", rng.integers(10, 700, n), rng.integers(30, 12_000, n))
    spec.listed_on = [
        (days[start] if start else days[0] - dt.timedelta(days=int(a))).isoformat()
        for start, a in zip(spec.list_start, age, strict=True)
    ]
    return spec


def _special_roles(
    rng: np.random.Generator, spec: _Spec, free: list[int], prefs: np.ndarray, n_pref_kospi: int
) -> None:
    """Draw managed, halted, new, briefly halted, preferreds' common and pattern stocks without
    overlap from the shuffled stocks ``free``; then give every ticker its code."""
    n, n_sessions = len(spec.kind), spec.halt_cells.shape[0]
    last = n_sessions - 1

    def take(count: int, market: str | None = None) -> list[int]:
        chosen = [c for c in free if market in (None, spec.markets[c])][: max(0, count)]
        free[:] = [c for c in free if c not in set(chosen)]
        return chosen

    managed = take(max(1, round(0.02 * len(free))), "KOSDAQ")
    spec.managed[managed], spec.value0[managed] = True, 0.3 * spec.value0[managed]
    spec.sigma[managed], spec.drift[managed] = 1.5 * spec.sigma[managed], -0.0008
    spec.price0[managed] = 600 + np.exp(rng.normal(np.log(1_500), 0.4, len(managed)))
    for col in take(max(1, round(0.005 * len(free)))):  # halted: no bars over the last 2 … 30
        spec.halt_cells[max(1, last - int(rng.integers(1, 30))) :, col] = True
    short, medium = take(max(1, round(0.004 * n))), take(max(1, round(0.01 * n)))
    spec.list_start[short] = np.maximum(1, n_sessions - rng.integers(3, 21, len(short)))
    spec.list_start[medium] = np.maximum(1, n_sessions - rng.integers(25, 60, len(medium)))
    older = take(round(0.04 * n))
    high = max(n_sessions // 4, last - 60) + 1
    spec.list_start[older] = rng.integers(n_sessions // 4, high, len(older))
    recent = np.flatnonzero((spec.kind == "spac") & (rng.random(n) < 0.6))
    spec.list_start[recent] = np.maximum(1, n_sessions - rng.integers(3, 250, len(recent)))
    np.minimum(spec.list_start, last, out=spec.list_start)
    for col in take(round(0.03 * n)) if n_sessions > 10 else []:
        begin = int(rng.integers(1, n_sessions - 8))
        spec.halt_cells[begin : begin + int(rng.integers(1, 6)), col] = True
    bases = take(n_pref_kospi, "KOSPI")
    bases += take(len(prefs) - len(bases), "KOSDAQ")
    spec.base[prefs] = bases + take(len(prefs) - len(bases))
    for col, b in zip(prefs, spec.base[prefs], strict=True):
        spec.names[col] = spec.names[b] + "우"
        spec.markets[col], spec.sector[col] = spec.markets[b], spec.sector[b]
        spec.beta[col], spec.gamma[col] = 0.8 * spec.beta[b], 0.8 * spec.gamma[b]
        spec.lam[col], spec.sigma[col] = 0.8 * spec.lam[b], 0.9 * spec.sigma[b]
        spec.price0[col] = spec.price0[b] * rng.uniform(0.45, 0.9)
        spec.value0[col] = spec.value0[b] * rng.uniform(0.01, 0.08)
    # Planted patterns go to the most liquid remaining stocks, ~40 % KOSPI and ~60 % KOSDAQ.
    per_pattern = max(1, round(0.004 * n))
    patterns: dict[str, list[int]] = {"midterm": [], "breakout": [], "pullback": []}
    for market, share in (("KOSPI", 0.4), ("KOSDAQ", 0.6)):
        pool = sorted((c for c in free if spec.markets[c] == market), key=lambda c: -spec.value0[c])
        pool = [pool[j] for j in rng.permutation(min(len(pool), 3 * per_pattern))]
        for j, name in enumerate(patterns):
            patterns[name] += pool[j::3][: max(1, round(per_pattern * share))]
    spec.patterns = {name: np.array(cols, dtype=np.int64) for name, cols in patterns.items()}
    planted = np.concatenate(list(spec.patterns.values()))
    spec.value0[planted] = np.maximum(spec.value0[planted], 2e10) * rng.uniform(1, 2, len(planted))
    spec.price0[planted] = np.clip(spec.price0[planted], 8_000, 300_000)
    # Codes: the fixed ETFs', ``0NNNL0`` for the ~1 % latest listings, digits ending in 0 for
    # the rest, and the common stock's code with a final 5 for a preferred.
    codes = spec.codes = [""] * n
    fixed = np.flatnonzero(spec.kind == "etf")[:2]
    codes[fixed[0]], codes[fixed[1]] = "069500", "229200"
    order = np.argsort(-spec.list_start, kind="stable")
    rest = [c for c in order if not codes[c] and spec.base[c] < 0]
    letters, n_alpha = "ABCDEFGHJKLMNPQRSTUVWXYZ", max(1, round(0.01 * n))
    for col, j in zip(rest, rng.choice(1000 * len(letters), n_alpha, replace=False), strict=False):
        codes[col] = f"0{j // len(letters):03d}{letters[j % len(letters)]}0"
    pool = np.setdiff1d(np.arange(1, 50_000), [6_950, 22_920])  # not 069500 / 229200
    digits = rng.choice(pool, len(rest) - n_alpha, replace=False)
    for col, j in zip(rest[n_alpha:], digits, strict=True):
        codes[col] = f"{j * 10:06d}"
    for col in prefs:
        codes[col] = codes[spec.base[col]][:5] + "5"


def _student(rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails, sd 1)."""
    return rng.standard_t(STUDENT_DF, size=shape) * np.sqrt((STUDENT_DF - 2) / STUDENT_DF)


def _episodes(
    rng: np.random.Generator, shape: tuple[int, int], p: float, scale: float | np.ndarray
) -> np.ndarray:
    """Piecewise-constant paths along axis 0; an N(0, scale) episode starts with probability p."""
    switch = rng.random(shape) < p
    switch[0] = True
    values = rng.normal(0.0, 1.0, shape) * scale
    starts = np.maximum.accumulate(np.where(switch, np.arange(shape[0])[:, None], 0), axis=0)
    return np.take_along_axis(values, starts, axis=0)


def _ar1(
    rng: np.random.Generator, shape: tuple[int, int], phi: float, sd: float, settled: bool = False
) -> np.ndarray:
    """AR(1) paths along axis 0, from 0 or (``settled``) from their stationary law."""
    shocks = rng.normal(0.0, sd, shape)
    shocks[:1] /= np.sqrt(1 - phi * phi) if settled else 1.0
    for t in range(1, shape[0]):
        shocks[t] += phi * shocks[t - 1]
    return shocks


def _factors(rng: np.random.Generator, n_sessions: int) -> tuple[np.ndarray, ...]:
    """``(S,)`` market factor m (= KOSPI log return), KOSDAQ factor k, ``(S, 12)`` sector
    factors, market log-volume activity and the idiosyncratic volatility multiplier."""
    tail = min(TAIL_SESSIONS, n_sessions - 1)
    head = n_sessions - tail
    drifts, vols = np.array([0.0008, 0.0002, -0.0008]), np.array([0.008, 0.009, 0.012])
    switch, step, crash_size = rng.random(head), rng.integers(1, 3, head), rng.uniform(3, 6, head)
    crash = rng.random(head) < 0.002
    state, volmult = np.empty(head, dtype=np.int64), np.ones(head)
    current, excess = 1, 0.0  # regime: 0 bull, 1 neutral, 2 bear
    for t in range(head):
        if switch[t] > 0.975:
            current = (current + int(step[t])) % 3
        state[t], volmult[t] = current, 1.0 + excess
        crash[t] |= current == 2 and switch[t] < 0.005
        excess = 0.9 * excess + 1.5 * crash[t]
    m = drifts[state] + vols[state] * volmult * _student(rng, head) - crash * crash_size / 100
    k = _episodes(rng, (head, 1), 1 / 60, 0.0004)[:, 0] + 0.006 * volmult * _student(rng, head)
    # The tail: log level = trend + x with |x| < bound, so every 20-session return stays near
    # 20·μ; the final session is an up day (m ≥ μ − 0.04 %).
    x = TAIL_BOUND * np.tanh(_ar1(rng, (tail, 1), 0.7, 0.003)[:, 0] / TAIL_BOUND)
    if tail:
        x[-1] = max(x[-1], (x[-2] if tail > 1 else 0.0) - (TAIL_DRIFT - 0.001))
    xk = 0.006 * np.tanh(_ar1(rng, (tail, 1), 0.7, 0.004)[:, 0] / 0.006)
    m = np.concatenate([m, TAIL_DRIFT + np.diff(x, prepend=0.0)])
    k = np.concatenate([k, np.diff(xk, prepend=0.0)])
    calm = np.concatenate([vols[state] / vols[1] * volmult, np.full(tail, 0.9)])
    sector_sd = rng.uniform(0.005, 0.011, len(SECTORS)) * calm[:, None]
    sectors = _episodes(rng, (n_sessions, len(SECTORS)), 1 / 50, 0.0012)
    sectors += sector_sd * _student(rng, (n_sessions, len(SECTORS)))
    activity = _ar1(rng, (n_sessions, 1), 0.9, 0.06, settled=True)[:, 0]
    return m, k, sectors, activity + np.minimum(8 * np.abs(m), 0.6), 0.75 + 0.25 * calm


def _simulate(rng: np.random.Generator, spec: _Spec, factors: tuple) -> dict[str, np.ndarray]:
    """Walk the sessions and build the (S, N) int64 bar arrays and the has_bar mask."""
    m, k, sectors, activity, calm = factors
    shape = spec.halt_cells.shape
    rows, last = np.arange(shape[0])[:, None], shape[0] - 1
    eps = _student(rng, shape)
    pref = np.flatnonzero(spec.base >= 0)
    eps[:, pref] = 0.6 * eps[:, spec.base[pref]] + 0.8 * eps[:, pref]
    drift = _episodes(rng, shape, 1 / 45, np.where(rng.random(shape) < 0.1, 0.005, 0.0018))
    drift[:, pref] = drift[:, spec.base[pref]]
    drift = np.where(np.isin(spec.kind, ["stock", "preferred"]), drift, 0.0) + spec.drift
    age = rows - spec.list_start
    new = (spec.list_start > 0) & (age >= 0)
    scale = spec.sigma * calm[:, None] * (1 + np.where(new, np.exp(-age / 10), 0))
    ret = spec.beta * m[:, None] + spec.gamma * k[:, None] + spec.lam * sectors[:, spec.sector]
    ret += drift + scale * eps
    listed = np.flatnonzero(spec.list_start > 0)
    ret[spec.list_start[listed], listed] += rng.uniform(0.0, 0.7, len(listed))  # listing pop
    vol_adj = np.where(new, 2.0 * 0.8 ** np.maximum(age, 0), 0.0)
    pb_high, pb_above = _plant_patterns(rng, spec, m, (ret, scale, eps, vol_adj))
    gap = 0.4 * ret + 0.3 * scale * rng.normal(0.0, 1.0, shape)
    wick_up = 0.45 * scale * np.abs(rng.normal(0.0, 1.0, shape))
    wick_dn = 0.45 * scale * np.abs(rng.normal(0.0, 1.0, shape))
    pb, pb_top = spec.patterns["pullback"], np.zeros(len(pb_high))
    if shape[0] > TAIL_SESSIONS:  # the last bar of a pullback opens lower and closes higher
        gap[last, pb] = -rng.uniform(0.001, 0.005, len(pb))
        wick_dn[last, pb] = rng.uniform(0.001, 0.005, len(pb))
    o, h, lo_, c = (np.empty(shape) for _ in range(4))
    prev, ema20 = spec.price0.copy(), spec.price0.copy()
    for t in range(shape[0]):
        r = ret[t].copy()
        steer = (pb_high < t) & (t < last)  # glide down to just above the 20-session EMA
        if steer.any():
            cols, top = pb[steer], pb_top[steer]
            target = np.clip(ema20[cols] * (1 + pb_above[steer]), 0.89 * top, 0.965 * top)
            r[cols] = np.log(target / prev[cols]) / (last - t) + 0.002 * eps[t, cols]
        target = prev * np.exp(r)
        target = np.where(target < REFLECT_LOW, REFLECT_LOW**2 / target, target)
        target = np.where(target > REFLECT_HIGH, REFLECT_HIGH**2 / target, target)
        base = prev.astype(np.int64)  # the KRX band, exact in integers, then on the tick grid
        floor = _to_tick((-((-base * PRICE_LIMIT_DOWN) // 10)).astype(np.float64), np.ceil)
        cap = _to_tick(((base * PRICE_LIMIT_UP) // 10).astype(np.float64), np.floor)
        floor[spec.list_start == t], cap[spec.list_start == t] = 0.0, np.inf
        close = np.clip(_to_tick(target, np.round), floor, cap)
        opening = np.clip(_to_tick(prev * np.exp(gap[t]), np.round), floor, cap)
        high = _to_tick(np.maximum(opening, close) * np.exp(wick_up[t]), np.ceil)
        low = _to_tick(np.minimum(opening, close) * np.exp(-wick_dn[t]), np.floor)
        close, opening = np.maximum(close, PRICE_MIN), np.maximum(opening, PRICE_MIN)
        high = np.maximum(np.minimum(high, cap), np.maximum(opening, close))
        low = np.minimum(np.maximum(low, np.maximum(floor, PRICE_MIN)), np.minimum(opening, close))
        frozen = spec.halt_cells[t]
        for array in (close, opening, high, low):
            array[frozen] = prev[frozen]
        o[t], h[t], lo_[t], c[t] = opening, high, low, close
        pb_top[pb_high == t] = high[pb[pb_high == t]]
        prev = close
        ema20 += (2 / 21) * (close - ema20)
    has_bar = (rows >= spec.list_start) & ~spec.halt_cells
    volume = np.where(has_bar, _volumes(rng, spec, c, activity[:, None] + vol_adj), 0.0)
    value = np.rint((h + lo_ + 2 * c) / 4 * volume * np.exp(rng.normal(0.0, 0.004, shape)))
    bars = {"open": o, "high": h, "low": lo_, "close": c, "volume": volume, "value": value}
    out = {name: np.where(has_bar, array, 0).astype(np.int64) for name, array in bars.items()}
    return {**out, "has_bar": has_bar}


def _plant_patterns(
    rng: np.random.Generator, spec: _Spec, m: np.ndarray, paths: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Overwrite the pattern stocks' (ret, scale, eps, vol_adj) over their last sessions, in
    place (markets of more than 80 sessions only). Returns the pullbacks' peak rows and their
    target distance above the 20-session EMA, for the session walk to steer to."""
    (ret, scale, eps, vol_adj), n_sessions = paths, len(m)
    last, beta, mkt, pb = n_sessions - 1, spec.beta, m[:, None], spec.patterns["pullback"]
    if n_sessions <= TAIL_SESSIONS:
        return np.full(len(pb), n_sessions), np.zeros(len(pb))

    def trend(cols: np.ndarray, span: slice, drift: tuple[float, float], sd: float) -> None:
        noise, daily = rng.uniform(sd, 1.4 * sd, len(cols)), rng.uniform(*drift, len(cols))
        ret[span, cols] = beta[cols] * mkt[span] + daily + noise * eps[span, cols]
        scale[span, cols] = noise

    # Mid-term uptrends: a trend line plus bounded, mean-reverting deviations.
    mid = spec.patterns["midterm"]
    wiggle = 0.04 * np.tanh(_ar1(rng, (70, len(mid)), 0.7, 0.02) / 0.04)
    daily = rng.uniform(0.0012, 0.0022, len(mid))
    ret[-70:, mid] = beta[mid] * mkt[-70:] + daily + np.diff(wiggle, axis=0, prepend=0.0)
    scale[-70:, mid] = 0.012
    # Momentum set-ups: an uptrend, a 5-session dip on light volume, then two up sessions (the
    # last one on 4.8× the previous four sessions' volume, set in `_volumes`).
    brk = spec.patterns["breakout"]
    trend(brk, slice(last - 64, last - 6), (0.003, 0.0045), 0.010)
    trend(brk, slice(last - 6, last - 1), (-0.009, -0.007), 0.003)
    trend(brk, slice(last - 1, last), (0.003, 0.010), 0.003)
    trend(brk, slice(last, n_sessions), (0.017, 0.023), 0.003)
    vol_adj[last - 6 : last, brk] -= 0.25
    # Pullbacks: a strong uptrend to a 20-session high 3 … 7 sessions before the last, a quiet
    # decline steered to just above the 20-session EMA, and an up bar on the last session.
    peaks = last - rng.integers(3, 8, len(pb))
    for col, peak in zip(pb, peaks, strict=True):
        trend(np.array([col]), slice(last - 74, peak), (0.005, 0.007), 0.010)
        trend(np.array([col]), slice(peak, peak + 1), (0.015, 0.015), 0.003)
        scale[peak + 1 :, col] = 0.005
        vol_adj[last - 74 : peak + 1, col] += 0.15
        vol_adj[peak + 1 : last, col] -= 0.6
    ret[last, pb] = rng.uniform(0.006, 0.015, len(pb))
    vol_adj[last, pb] -= 0.3
    return peaks, rng.uniform(0.003, 0.015, len(pb))


def _volumes(rng: np.random.Generator, spec: _Spec, c: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Shares traded: base value / price, a persistent volume regime, market activity, spikes
    on large moves and noise; a momentum set-up's last session trades 4.8× its 4-day mean."""
    shape = c.shape
    log_close, log_price0 = np.log(c), np.log(spec.price0)
    moves = np.abs(np.diff(log_close, axis=0, prepend=log_price0[None, :]))
    total_sd = np.sqrt(spec.sigma**2 + (0.009 * spec.beta) ** 2 + (0.008 * spec.lam) ** 2)
    log_volume = np.log(spec.value0) - log_price0 - 0.7 * (log_close - log_price0)
    log_volume += _ar1(rng, shape, 0.96, 0.15, settled=True) + adj
    log_volume += 0.25 * (np.minimum(moves / total_sd, 6.0) - 0.8) + rng.normal(0.0, 0.3, shape)
    volume = np.maximum(1.0, np.rint(np.exp(log_volume)))
    brk = spec.patterns["breakout"]
    if shape[0] > TAIL_SESSIONS and len(brk):
        volume[-1, brk] = np.rint(4.8 * volume[-5:-1, brk].mean(axis=0))
    return volume


def _to_tick(price: np.ndarray, how: np.ufunc) -> np.ndarray:
    """Round to the KRX tick grid (2023 table) with ``how`` (np.round, np.floor or np.ceil)."""
    tick = TICK_SIZES[np.searchsorted(TICK_BOUNDS, price, side="right")]
    return how(price / tick) * tick


def _index_rows(
    rng: np.random.Generator, days: tuple[dt.date, ...], factors: tuple
) -> list[store.IndexBarRow]:
    """KOSPI (log return m) and KOSDAQ (1.1·m + k) index bars, 2 decimals."""
    (m, k, _, activity, _), n, series = factors, len(days), []
    for code, level, ret, base_volume in (
        ("KOSPI", rng.uniform(2_300, 2_700), m, 4.5e8),
        ("KOSDAQ", rng.uniform(720, 880), 1.1 * m + k, 9e8),
    ):
        close = level * np.exp(np.cumsum(ret))
        opening = np.concatenate([[level], close[:-1]]) * np.exp(0.3 * ret + rng.normal(0, 1e-3, n))
        high = np.maximum(opening, close) * np.exp(np.abs(rng.normal(0.0, 0.0022, n)))
        low = np.minimum(opening, close) * np.exp(-np.abs(rng.normal(0.0, 0.0022, n)))
        o, h, lo_, c = (np.round(x, 2) for x in (opening, high, low, close))
        h, lo_ = np.maximum(h, np.maximum(o, c)), np.minimum(lo_, np.minimum(o, c))
        volume = np.rint(base_volume * np.exp(activity + rng.normal(0.0, 0.1, n)))
        series.append((code, *(x.tolist() for x in (o, h, lo_, c, volume.astype(np.int64)))))
    return [
        (day.isoformat(), code, o[t], h[t], lo_[t], c[t], v[t])
        for t, day in enumerate(days)
        for code, o, h, lo_, c, v in series
    ]
