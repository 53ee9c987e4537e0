"""The demo market's session walk, a block of sessions at a time (see `scanctl.providers.demo`).

The model draws its (S, N) random arrays from the one generator in a fixed order. `SessionWalk`
takes them in that order but only *reserves* them (`Draws`): it walks the generator past each
one a block of rows at a time and keeps the generator's state before every block, then replays
the block it needs while it walks the sessions. NumPy fills a C-order array from the stream one
value after the other, so a draw taken in blocks holds the same numbers as one (S, N) call: the
market is the same, byte for byte, whatever the block size, while only a few (block × N) arrays
are held at once. The planted patterns rewrite the last `TAIL_SESSIONS` rows, which are
computed once while reserving and kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from scanctl.providers.demo_model import (
    PRICE_LIMIT_DOWN,
    PRICE_LIMIT_UP,
    PRICE_MIN,
    REFLECT_HIGH,
    REFLECT_LOW,
    TAIL_SESSIONS,
    Spec,
    ar1,
    student,
    to_tick,
)

BLOCK_SESSIONS = 64  # sessions walked (and written) at a time
FIELDS = ("open", "high", "low", "close", "volume", "value")

Draw = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


@dataclass(frozen=True, eq=False)
class SessionBlock:
    """The bars of the sessions ``start … start + rows - 1``, columns in code order.

    ``open`` … ``value`` are ``(rows, N)`` int64 (0 where there is no bar); ``has_bar`` is
    ``(rows, N)`` bool.
    """

    start: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    has_bar: np.ndarray


class Draws:
    """One (S, N) draw of the model, reserved now and replayed a block of rows at a time."""

    def __init__(
        self, rng: np.random.Generator, draw: Draw, shape: tuple[int, int], rows: int
    ) -> None:
        self._draw, self._shape, self._rows, self._states = draw, shape, rows, []
        self._bits = type(rng.bit_generator)
        for start in range(0, shape[0], rows):
            self._states.append(rng.bit_generator.state)
            draw(rng, self._block_shape(start))

    def block(self, index: int) -> np.ndarray:
        """Rows ``index · rows …`` of the draw, as one (S, N) call would give them."""
        bits = self._bits()
        bits.state = self._states[index]
        return self._draw(np.random.Generator(bits), self._block_shape(index * self._rows))

    def _block_shape(self, start: int) -> tuple[int, int]:
        return min(self._rows, self._shape[0] - start), self._shape[1]


def _normal(sd: float) -> Draw:
    return lambda rng, shape: rng.normal(0.0, sd, shape)


def _uniform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.random(shape)


class SessionWalk:
    """The bar model of `scanctl.providers.demo` over (S sessions × N tickers).

    Building it takes every random number of the bars from ``rng`` (the index bars come next);
    `blocks` then walks the sessions and yields their bars, ``block`` sessions at a time.
    """

    def __init__(
        self, rng: np.random.Generator, spec: Spec, factors: tuple, block: int = BLOCK_SESSIONS
    ) -> None:
        self.spec, self.factors, self.block = spec, factors, block
        shape = spec.halt_cells.shape
        self.n_sessions, self.last = shape[0], shape[0] - 1
        self.pref = np.flatnonzero(spec.base >= 0)
        self.listed = np.flatnonzero(spec.list_start > 0)
        self.stocks = np.isin(spec.kind, ["stock", "preferred"])
        pb = spec.patterns["pullback"]
        self.eps = Draws(rng, student, shape, block)
        self.pick = Draws(rng, _uniform, shape, block)  # which drift episodes are large
        self.switch = Draws(rng, _uniform, shape, block)  # where a drift episode starts
        self.jump = Draws(rng, _normal(1.0), shape, block)  # its size
        self.pop = rng.uniform(0.0, 0.7, len(self.listed))  # listing-day jump
        self.tail: tuple[np.ndarray, ...] | None = None
        self.pb_high, self.pb_above = np.full(len(pb), self.n_sessions), np.zeros(len(pb))
        if self.n_sessions > TAIL_SESSIONS:
            self.tail = self._tail_paths()
            peaks, self.pb_above = plant_patterns(rng, spec, factors[0][-TAIL_SESSIONS:], self.tail)
            self.pb_high = peaks + self.n_sessions - TAIL_SESSIONS
        self.gap, self.wick_up, self.wick_dn = (
            Draws(rng, _normal(1.0), shape, block) for _ in range(3)
        )
        if self.n_sessions > TAIL_SESSIONS:  # the last bar of a pullback opens lower, closes higher
            self.pb_gap = -rng.uniform(0.001, 0.005, len(pb))
            self.pb_wick = rng.uniform(0.001, 0.005, len(pb))
        self.volume_ar, self.volume_noise, self.value_noise = (
            Draws(rng, _normal(sd), shape, block) for sd in (0.15, 0.3, 0.004)
        )

    def blocks(self, order: np.ndarray) -> Iterator[SessionBlock]:
        """Walk the sessions; yield their bars a block at a time, columns in ``order``."""
        spec, pb = self.spec, self.spec.patterns["pullback"]
        state = _WalkState(spec, len(pb))
        drift_now = None
        for index, start in enumerate(range(0, self.n_sessions, self.block)):
            drift, drift_now = self._drift(index, drift_now)
            ret, scale, eps, vol_adj = self._paths(index, drift)
            stop = start + len(ret)
            if self.tail is not None and stop > self.n_sessions - TAIL_SESSIONS:
                first = max(start, self.n_sessions - TAIL_SESSIONS)
                for path, tail in zip((ret, scale, eps, vol_adj), self.tail, strict=True):
                    path[first - start :] = tail[first - self.n_sessions :][: stop - first]
            gap = 0.4 * ret + 0.3 * scale * self.gap.block(index)
            wick_up = 0.45 * scale * np.abs(self.wick_up.block(index))
            wick_dn = 0.45 * scale * np.abs(self.wick_dn.block(index))
            if self.tail is not None and start <= self.last < stop:
                gap[self.last - start, pb] = self.pb_gap
                wick_dn[self.last - start, pb] = self.pb_wick
            prices = self._walk(state, start, ret, eps, gap, wick_up, wick_dn)
            rows = np.arange(start, stop)[:, None]
            has_bar = (rows >= spec.list_start) & ~spec.halt_cells[start:stop]
            adj = self.factors[3][start:stop, None] + vol_adj
            volume = np.where(has_bar, self._volumes(state, index, prices[3], adj), 0.0)
            o, h, lo_, c = prices
            noise = np.exp(self.value_noise.block(index))
            value = np.rint((h + lo_ + 2 * c) / 4 * volume * noise)
            bars = dict(zip(FIELDS, (o, h, lo_, c, volume, value), strict=True))
            out = {k: np.where(has_bar, v, 0).astype(np.int64)[:, order] for k, v in bars.items()}
            yield SessionBlock(start=start, has_bar=has_bar[:, order], **out)

    def _drift(self, index: int, now: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The stock drift of a block (episodes: N(0, 0.5 % or 0.18 %) from a switch on) and the
        raw episode values in effect at its last row (``now``: at the row before it)."""
        scale = np.where(self.pick.block(index) < 0.1, 0.005, 0.0018)
        switch = self.switch.block(index) < 1 / 45
        if index == 0:
            switch[0] = True
        values = self.jump.block(index) * scale
        rows = np.arange(len(values))[:, None]
        starts = np.maximum.accumulate(np.where(switch, rows, -1), axis=0)
        raw = np.take_along_axis(values, np.maximum(starts, 0), axis=0)
        if now is not None:
            raw = np.where(starts < 0, now, raw)
        drift = raw.copy()
        drift[:, self.pref] = drift[:, self.spec.base[self.pref]]
        return np.where(self.stocks, drift, 0.0) + self.spec.drift, raw[-1]

    def _paths(self, index: int, drift: np.ndarray) -> tuple[np.ndarray, ...]:
        """Log return, volatility, shocks and volume adjustment of a block (before patterns)."""
        spec, (m, k, sectors, _, calm) = self.spec, self.factors
        start = index * self.block
        eps = self.eps.block(index)
        eps[:, self.pref] = 0.6 * eps[:, spec.base[self.pref]] + 0.8 * eps[:, self.pref]
        span = slice(start, start + len(eps))
        age = np.arange(span.start, span.stop)[:, None] - spec.list_start
        new = (spec.list_start > 0) & (age >= 0)
        scale = spec.sigma * calm[span, None] * (1 + np.where(new, np.exp(-age / 10), 0))
        ret = spec.beta * m[span, None] + spec.gamma * k[span, None]
        ret = ret + spec.lam * sectors[span][:, spec.sector]
        ret += drift + scale * eps
        here = (spec.list_start[self.listed] >= span.start) & (
            spec.list_start[self.listed] < span.stop
        )
        cols = self.listed[here]
        ret[spec.list_start[cols] - start, cols] += self.pop[here]
        vol_adj = np.where(new, 2.0 * 0.8 ** np.maximum(age, 0), 0.0)
        return ret, scale, eps, vol_adj

    def _tail_paths(self) -> tuple[np.ndarray, ...]:
        """`_paths` of the last `TAIL_SESSIONS` rows, for the patterns to rewrite."""
        parts: list[tuple[np.ndarray, ...]] = []
        first, now = self.n_sessions - TAIL_SESSIONS, None
        for index, start in enumerate(range(0, self.n_sessions, self.block)):
            drift, now = self._drift(index, now)
            if start + len(drift) > first:
                skip = max(0, first - start)
                parts.append(tuple(path[skip:] for path in self._paths(index, drift)))
        return tuple(np.concatenate(paths) for paths in zip(*parts, strict=True))

    def _walk(self, state: _WalkState, start: int, ret, eps, gap, wick_up, wick_dn) -> tuple:
        """Open, high, low and close of a block's sessions, on the tick grid within the band."""
        spec, last, pb = self.spec, self.last, self.spec.patterns["pullback"]
        o, h, lo_, c = (np.empty(ret.shape) for _ in range(4))
        prev, ema20 = state.prev, state.ema20
        for i in range(len(ret)):
            t = start + i
            r = ret[i].copy()
            steer = (self.pb_high < t) & (t < last)  # glide down to just above the 20-session EMA
            if steer.any():
                cols, top = pb[steer], state.pb_top[steer]
                target = np.clip(ema20[cols] * (1 + self.pb_above[steer]), 0.89 * top, 0.965 * top)
                r[cols] = np.log(target / prev[cols]) / (last - t) + 0.002 * eps[i, cols]
            target = prev * np.exp(r)
            target = np.where(target < REFLECT_LOW, REFLECT_LOW**2 / target, target)
            target = np.where(target > REFLECT_HIGH, REFLECT_HIGH**2 / target, target)
            base = prev.astype(np.int64)  # the KRX band, exact in integers, then on the tick grid
            floor = to_tick((-((-base * PRICE_LIMIT_DOWN) // 10)).astype(np.float64), np.ceil)
            cap = to_tick(((base * PRICE_LIMIT_UP) // 10).astype(np.float64), np.floor)
            floor[spec.list_start == t], cap[spec.list_start == t] = 0.0, np.inf
            close = np.clip(to_tick(target, np.round), floor, cap)
            opening = np.clip(to_tick(prev * np.exp(gap[i]), np.round), floor, cap)
            high = to_tick(np.maximum(opening, close) * np.exp(wick_up[i]), np.ceil)
            low = to_tick(np.minimum(opening, close) * np.exp(-wick_dn[i]), np.floor)
            close, opening = np.maximum(close, PRICE_MIN), np.maximum(opening, PRICE_MIN)
            high = np.maximum(np.minimum(high, cap), np.maximum(opening, close))
            low = np.minimum(
                np.maximum(low, np.maximum(floor, PRICE_MIN)), np.minimum(opening, close)
            )
            frozen = spec.halt_cells[t]
            for array in (close, opening, high, low):
                array[frozen] = prev[frozen]
            o[i], h[i], lo_[i], c[i] = opening, high, low, close
            state.pb_top[self.pb_high == t] = high[pb[self.pb_high == t]]
            prev = close
            ema20 += (2 / 21) * (close - ema20)
        state.prev = prev
        return o, h, lo_, c

    def _volumes(self, state: _WalkState, index: int, c: np.ndarray, adj: np.ndarray) -> np.ndarray:
        """Shares traded: base value / price, a persistent volume regime, market activity, spikes
        on large moves and noise; a momentum set-up's last session trades 4.8× its 4-day mean."""
        spec, start = self.spec, index * self.block
        log_close, log_price0 = np.log(c), np.log(spec.price0)
        moves = np.abs(np.diff(log_close, axis=0, prepend=state.log_close[None, :]))
        total_sd = np.sqrt(spec.sigma**2 + (0.009 * spec.beta) ** 2 + (0.008 * spec.lam) ** 2)
        log_volume = np.log(spec.value0) - log_price0 - 0.7 * (log_close - log_price0)
        regime = self.volume_ar.block(index)
        if index == 0:
            regime[:1] /= np.sqrt(1 - 0.96 * 0.96)  # settled: from the stationary law
        else:
            regime[0] += 0.96 * state.regime
        for t in range(1, len(regime)):
            regime[t] += 0.96 * regime[t - 1]
        log_volume += regime + adj
        noise = self.volume_noise.block(index)
        log_volume += 0.25 * (np.minimum(moves / total_sd, 6.0) - 0.8) + noise
        volume = np.maximum(1.0, np.rint(np.exp(log_volume)))
        state.log_close, state.regime = log_close[-1], regime[-1]
        brk = spec.patterns["breakout"]
        if self.n_sessions > TAIL_SESSIONS and len(brk):
            recent = np.concatenate([state.breakout_volumes, volume[:, brk]])
            if start <= self.last < start + len(volume):
                row = len(state.breakout_volumes) + self.last - start
                volume[self.last - start, brk] = np.rint(4.8 * recent[row - 4 : row].mean(axis=0))
            state.breakout_volumes = recent[-4:]
        return volume


class _WalkState:
    """What the walk carries from one block to the next."""

    def __init__(self, spec: Spec, n_pullbacks: int) -> None:
        self.prev, self.ema20 = spec.price0.copy(), spec.price0.copy()
        self.pb_top = np.zeros(n_pullbacks)
        self.log_close = np.log(spec.price0)
        self.regime = np.zeros(len(spec.price0))
        self.breakout_volumes = np.empty((0, len(spec.patterns["breakout"])))


def plant_patterns(
    rng: np.random.Generator, spec: Spec, m: np.ndarray, paths: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Overwrite the pattern stocks' (ret, scale, eps, vol_adj) of the last `TAIL_SESSIONS`
    sessions (``m`` and ``paths`` hold those rows only), in place. Returns the pullbacks' peak
    rows (within the tail) and their target distance above the 20-session EMA, for the session
    walk to steer to."""
    (ret, scale, eps, vol_adj), n_sessions = paths, len(m)
    last, beta, mkt, pb = n_sessions - 1, spec.beta, m[:, None], spec.patterns["pullback"]

    def trend(cols: np.ndarray, span: slice, drift: tuple[float, float], sd: float) -> None:
        noise, daily = rng.uniform(sd, 1.4 * sd, len(cols)), rng.uniform(*drift, len(cols))
        ret[span, cols] = beta[cols] * mkt[span] + daily + noise * eps[span, cols]
        scale[span, cols] = noise

    # Mid-term uptrends: a trend line plus bounded, mean-reverting deviations.
    mid = spec.patterns["midterm"]
    wiggle = 0.04 * np.tanh(ar1(rng, (70, len(mid)), 0.7, 0.02) / 0.04)
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
