"""The demo market's model: the ticker layout, the market factors, the index bars and the tick
grid (see `scanctl.providers.demo` for the model; `scanctl.providers.demo_walk` walks the
sessions). Everything here is drawn from the one generator in a fixed order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from scanctl.providers.demo_names import SECTORS, assign_names
from scanctl.store.bars import IndexBarRow

KOSPI_SHARE = 950 / 2700
TAIL_SESSIONS = 80  # the steady-uptrend stretch at the end of the market factor
TAIL_DRIFT, TAIL_BOUND = 0.0014, 0.004  # its daily log drift μ and the bound of its deviation
PRICE_LIMIT_UP, PRICE_LIMIT_DOWN = 13, 7  # tenths of the previous close (±30 %)
PRICE_MIN, REFLECT_LOW, REFLECT_HIGH = 500, 600.0, 3_000_000.0
TICK_BOUNDS = np.array([2_000, 5_000, 20_000, 50_000, 200_000, 500_000], dtype=np.float64)
TICK_SIZES = np.array([1, 5, 10, 50, 100, 500, 1_000], dtype=np.float64)
STUDENT_DF = 5.0

# Fund styles: (β on m, γ on k, λ on the sector, σ, daily drift, base price, base value KRW).
FUND_STYLES = {
    "index": (1.0, 0, 0, 0.0012, 0, 35_000, 2e10), "kosdaq": (1.1, 1, 0, 0.0015, 0, 12_000, 8e9),
    "sector": (1.0, 0, 1, 0.003, 0, 12_000, 3e9), "lev": (2.0, 0, 0, 0.002, 0, 18_000, 6e10),
    "inv": (-1.0, 0, 0, 0.0015, 0, 4_500, 3e10), "inv2x": (-2.0, 0, 0, 0.002, 0, 2_500, 6e10),
    "kq_lev": (2.2, 2, 0, 0.003, 0, 7_000, 4e10), "kq_inv": (-1.1, -1, 0, 0.002, 0, 3_500, 2e10),
    "bond": (0, 0, 0, 3e-4, 1.2e-4, 60_000, 1e10), "foreign": (0.15, 0, 0, 0.01, 4e-4, 15_000, 3e9),
    "etn": (0.1, 0, 0, 0.025, 0, 9_000, 3e8), "spac": (0.02, 0, 0, 0.003, 5e-5, 2_100, 1e8),
    "reit": (0.35, 0, 0, 0.009, 1e-4, 4_500, 5e8),
}  # fmt: skip


@dataclass
class Spec:
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


def layout(rng: np.random.Generator, n: int, days: tuple[dt.date, ...]) -> Spec:
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
    spec = Spec(
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
    for style, (beta, gamma, lam, sigma, drift, price, value) in FUND_STYLES.items():
        cols = np.flatnonzero(styles == style)
        spec.beta[cols], spec.gamma[cols], spec.lam[cols] = beta, gamma, lam
        spec.sigma[cols], spec.drift[cols] = sigma, drift
        spread = 0.03 if style == "spac" else 0.25
        spec.price0[cols] = np.round(price * np.exp(rng.normal(0, spread, len(cols))), -1)
        spec.value0[cols] = value * np.exp(rng.normal(0, 0.8, len(cols)))
    fixed = np.flatnonzero(kind == "etf")[:2]
    spec.price0[fixed], spec.value0[fixed] = (35_000, 12_000), (3e11, 1e11)
    special_roles(rng, spec, rng.permutation(stocks).tolist(), prefs, n_pref_kospi)
    age = np.where(kind == "spac", rng.integers(10, 700, n), rng.integers(30, 12_000, n))
    spec.listed_on = [
        (days[start] if start else days[0] - dt.timedelta(days=int(a))).isoformat()
        for start, a in zip(spec.list_start, age, strict=True)
    ]
    return spec


def special_roles(
    rng: np.random.Generator, spec: Spec, free: list[int], prefs: np.ndarray, n_pref_kospi: int
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


def student(rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails, sd 1)."""
    return rng.standard_t(STUDENT_DF, size=shape) * np.sqrt((STUDENT_DF - 2) / STUDENT_DF)


def episodes(
    rng: np.random.Generator, shape: tuple[int, int], p: float, scale: float | np.ndarray
) -> np.ndarray:
    """Piecewise-constant paths along axis 0; an N(0, scale) episode starts with probability p."""
    switch = rng.random(shape) < p
    switch[0] = True
    values = rng.normal(0.0, 1.0, shape) * scale
    starts = np.maximum.accumulate(np.where(switch, np.arange(shape[0])[:, None], 0), axis=0)
    return np.take_along_axis(values, starts, axis=0)


def ar1(
    rng: np.random.Generator, shape: tuple[int, int], phi: float, sd: float, settled: bool = False
) -> np.ndarray:
    """AR(1) paths along axis 0, from 0 or (``settled``) from their stationary law."""
    shocks = rng.normal(0.0, sd, shape)
    shocks[:1] /= np.sqrt(1 - phi * phi) if settled else 1.0
    for t in range(1, shape[0]):
        shocks[t] += phi * shocks[t - 1]
    return shocks


def factors(rng: np.random.Generator, n_sessions: int) -> tuple[np.ndarray, ...]:
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
    m = drifts[state] + vols[state] * volmult * student(rng, head) - crash * crash_size / 100
    k = episodes(rng, (head, 1), 1 / 60, 0.0004)[:, 0] + 0.006 * volmult * student(rng, head)
    # The tail: log level = trend + x with |x| < bound, so every 20-session return stays near
    # 20·μ; the final session is an up day (m ≥ μ − 0.04 %).
    x = TAIL_BOUND * np.tanh(ar1(rng, (tail, 1), 0.7, 0.003)[:, 0] / TAIL_BOUND)
    if tail:
        x[-1] = max(x[-1], (x[-2] if tail > 1 else 0.0) - (TAIL_DRIFT - 0.001))
    xk = 0.006 * np.tanh(ar1(rng, (tail, 1), 0.7, 0.004)[:, 0] / 0.006)
    m = np.concatenate([m, TAIL_DRIFT + np.diff(x, prepend=0.0)])
    k = np.concatenate([k, np.diff(xk, prepend=0.0)])
    calm = np.concatenate([vols[state] / vols[1] * volmult, np.full(tail, 0.9)])
    sector_sd = rng.uniform(0.005, 0.011, len(SECTORS)) * calm[:, None]
    sectors = episodes(rng, (n_sessions, len(SECTORS)), 1 / 50, 0.0012)
    sectors += sector_sd * student(rng, (n_sessions, len(SECTORS)))
    activity = ar1(rng, (n_sessions, 1), 0.9, 0.06, settled=True)[:, 0]
    return m, k, sectors, activity + np.minimum(8 * np.abs(m), 0.6), 0.75 + 0.25 * calm


def to_tick(price: np.ndarray, how: np.ufunc) -> np.ndarray:
    """Round to the KRX tick grid (2023 table) with ``how`` (np.round, np.floor or np.ceil)."""
    tick = TICK_SIZES[np.searchsorted(TICK_BOUNDS, price, side="right")]
    return how(price / tick) * tick


def index_rows(
    rng: np.random.Generator, days: tuple[dt.date, ...], factors: tuple
) -> list[IndexBarRow]:
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
