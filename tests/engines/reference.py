"""An independent, per-ticker reference of the engines (ENGINES.md §1, §2, §4–§8.5; STYLE.md R17).

Written from the spec text, one ticker at a time, with Python lists, floats and `math` only: no
numpy, nothing imported from `scanctl`. It is deliberately naive: every series is a list over the
ticker's own window (k = 0 … t, ``None`` = undefined), every rule is spelled as in its table, and
every default is the §9 default. Tests feed it the same store content as the real pipeline and
compare picks and reasons (tests/engines/test_reference.py).

Input, for one scan date D:

* `Ticker` per code: master fields and ``bars``, the ticker's window (§0.4): its last ≤ 220 valid
  bars (§0.3) dated ≤ D, oldest first (`window_of` builds it from raw rows).
* the market condition object of D (§3; its attributes are read by name, it is tested apart).

`reference_scan` returns the universe and, per engine / sub-engine (``v1``, ``v2``, ``midterm``,
``v2_lite``), the ordered picks and every ticker's reason code (None = picked).

Where the spec leaves a choice open, the engines' module docstrings resolve it; the choices this
reference relies on:

* v1 reasons come from the chosen fallback step, or from the last executed step when none was
  chosen (scanctl.engines.v1).
* midterm's percentile rank C2 is taken over the whole evaluated set (final-universe tickers
  with a bar on D and ≥ min_bars bars), whether or not they pass the checks (scanctl.engines.v3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

LOOKBACK = 220  # §0.4 / §9: every engine
MIN_HISTORY = 21  # §0.4
V3_MIN_BARS = 60  # §9.5


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Bar:
    date: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    value: float


@dataclass
class Ticker:
    code: str
    name: str
    market: str | None
    security_type: str | None
    managed: bool
    halted: bool
    bars: list[Bar] = field(default_factory=list)


def valid_bar(date: str, o, h, l, c, v, value) -> Bar | None:  # noqa: E741
    """§0.3: a row is a bar only with o, h, l, c > 0 and v > 0; a null value is close × volume."""
    for x in (o, h, l, c, v):
        if x is None or not x > 0:
            return None
    c, v = float(c), float(v)
    value = c * v if value is None else float(value)
    return Bar(date, float(o), float(h), float(l), c, v, value)


def window_of(bars: Sequence[Bar], day: str, lookback: int = LOOKBACK) -> list[Bar]:
    """§0.4: the last min(lookback, n) bars dated ≤ day (``bars`` are valid, oldest first)."""
    upto = [bar for bar in bars if bar.date <= day]
    return upto[-lookback:]


# --------------------------------------------------------------------------- §1 indicators


def _ema(xs: list, n: int) -> list:
    alpha = 2.0 / (n + 1)
    out: list = []
    prev = None
    for x in xs:
        # None until the first defined x, which seeds the EMA
        prev = x if prev is None else alpha * x + (1.0 - alpha) * prev
        out.append(prev)
    return out


def _sub(a: list, b: list) -> list:
    return [None if x is None or y is None else x - y for x, y in zip(a, b, strict=True)]


def _dema(xs: list, n: int) -> list:
    e1 = _ema(xs, n)
    e2 = _ema(e1, n)
    return [None if x is None else 2.0 * x - y for x, y in zip(e1, e2, strict=True)]


def _tema(xs: list, n: int) -> list:
    e1 = _ema(xs, n)
    e2 = _ema(e1, n)
    e3 = _ema(e2, n)
    return [None if x is None else 3.0 * (x - y) + z for x, y, z in zip(e1, e2, e3, strict=True)]


def _rsi_from(num: list, den: list) -> list:
    out = []
    for g, lo in zip(num, den, strict=True):
        value = 50.0
        if g is not None and lo is not None and lo != 0:
            rs = g / lo
            if 1.0 + rs != 0:
                value = 100.0 - 100.0 / (1.0 + rs)
        out.append(value)
    return out


def _mean_back(xs: list, k: int, n: int) -> float | None:
    """mean(x_{k-n+1} … x_k), or None when k-n+1 < 0 or a value is undefined."""
    if k - n + 1 < 0:
        return None
    part = xs[k - n + 1 : k + 1]
    if any(x is None for x in part):
        return None
    return sum(part) / n


def _slope20(ys: list, k: int) -> float | None:
    """§1.1 SLOPE20: Σ (i − 9.5)·(y_{k−19+i} − ȳ) / 665."""
    if k < 19:
        return None
    part = ys[k - 19 : k + 1]
    if any(y is None for y in part):
        return None
    mean = sum(part) / 20
    return sum((i - 9.5) * (y - mean) for i, y in enumerate(part)) / 665


class Series:
    """The §1.1 series and §1.2 scalars of one ticker's window (k = 0 … t)."""

    def __init__(self, bars: list[Bar]) -> None:
        self.bars = bars
        c = [b.close for b in bars]
        h = [b.high for b in bars]
        l = [b.low for b in bars]  # noqa: E741
        v = [b.volume for b in bars]
        o = [b.open for b in bars]
        self.c, self.h, self.l, self.v, self.o = c, h, l, v, o
        n = len(bars)
        self.t = t = n - 1
        self.TEMA20 = _tema(c, 20)
        self.DEMA10 = _dema(c, 10)
        self.EMA20 = _ema(c, 20)
        self.EMA60 = _ema(c, 60)
        self.MACD_LINE = _sub(_ema(c, 12), _ema(c, 26))
        self.MACD_SIGNAL = _ema(self.MACD_LINE, 9)
        self.MACD_OSC = _sub(self.MACD_LINE, self.MACD_SIGNAL)
        delta = [None] + [c[k] - c[k - 1] for k in range(1, n)]
        gains = [None if d is None else max(d, 0.0) for d in delta]
        losses = [None if d is None else max(-d, 0.0) for d in delta]
        self.RSI_TEMA = _rsi_from(_tema(gains, 14), _tema(losses, 14))
        gains_d = [0.0] + [d if d > 0 else 0.0 for d in delta[1:]]
        losses_d = [0.0] + [-d if d < 0 else 0.0 for d in delta[1:]]
        self.RSI_DEMA = _rsi_from(_dema(gains_d, 14), _dema(losses_d, 14))
        obv = [0.0]
        for k in range(1, n):
            step = 0.0 if delta[k] == 0 else math.copysign(1.0, delta[k])
            obv.append(obv[-1] + step * v[k])
        self.OBV = obv
        self.TR = [h[0] - l[0]] + [
            max(h[k] - l[k], abs(h[k] - c[k - 1]), abs(l[k] - c[k - 1])) for k in range(1, n)
        ]
        self.RSI14 = self._rsi14(gains, losses)
        # Values on bar t (and the few bars before it that the rules read).
        self.VOL_MA5 = _mean_back(v, t, 5)
        self.VMA20 = _mean_back(v, t, 20)
        self.ATR14 = _mean_back(self.TR, t, 14)
        self.TEMA20_SLOPE20 = _slope20(self.TEMA20, t)
        self.OBV_SLOPE20 = _slope20(self.OBV, t)
        self.DEMA10_SLOPE20 = _slope20(self.DEMA10, t)
        self.EMA60_SLOPE20 = _slope20(self.EMA60, t)
        self._scalars()

    def _rsi14(self, gains: list, losses: list) -> list:
        n = len(gains)
        out: list = [None] * n
        if n <= 14:
            return out
        ag = sum(gains[1:15]) / 14
        al = sum(losses[1:15]) / 14
        for k in range(14, n):
            if k > 14:
                ag = (13 * ag + gains[k]) / 14
                al = (13 * al + losses[k]) / 14
            if al > 0:
                out[k] = 100.0 - 100.0 / (1.0 + ag / al)
            elif ag > 0:
                out[k] = 100.0
            else:
                out[k] = 50.0
        return out

    def _scalars(self) -> None:
        t, c, h, v = self.t, self.c, self.h, self.v
        tema, dema = self.TEMA20, self.DEMA10
        line, signal, osc = self.MACD_LINE, self.MACD_SIGNAL, self.MACD_OSC

        def above(k: int) -> bool:
            return k >= 0 and tema[k] > dema[k]

        def crossed_at(k: int) -> bool:
            return k >= 1 and tema[k] > dema[k] and tema[k - 1] <= dema[k - 1]

        self.ABOVE_CNT5 = sum(1 for i in range(5) if above(t - i))
        self.cross = crossed_at(t)
        self.crossed_recently = any(crossed_at(t - i) for i in range(5))
        self.macd_golden_cross = line[t] > signal[t] and line[t - 1] <= signal[t - 1]
        self.macd_line_up = line[t] > signal[t]
        self.gap_now = (tema[t] - dema[t]) / c[t]
        self.ext_pct = 0.0 if tema[t] == 0 else (c[t] - tema[t]) / tema[t]
        self.turnover20 = sum(c[k] * v[k] for k in range(t - 19, t + 1)) / 20
        self.ATR_PCT = self.ATR14 / c[t]
        self.vol_ratio = v[t] / self.VOL_MA5
        duration = 0
        while duration < 10 and osc[t - duration] > osc[t - duration - 1]:
            duration += 1
        self.macd_duration = duration
        self.up_days5 = sum(1 for i in range(5) if c[t - i] > c[t - i - 1])
        self.R20 = c[t] / c[t - 20] - 1
        self.EMA60_SLOPE20_PCT = self.EMA60_SLOPE20 / self.EMA60[t]
        highs = h[t - 19 : t + 1]
        self.H20 = max(highs)
        latest = max(k for k in range(t - 19, t + 1) if h[k] == self.H20)
        self.HIGH_AGE = t - latest
        self.PB_DEPTH = 1 - c[t] / self.H20
        self.DIST_EMA20 = abs(c[t] / self.EMA20[t] - 1)


# --------------------------------------------------------------------------- §2 universe


@dataclass
class UniverseRef:
    member: set[str]
    why: dict[str, str | None]
    value: dict[str, float]  # traded value on D, for the tie-break


def build_universe(
    tickers: Iterable[Ticker], day: str, kospi_limit: int, kosdaq_limit: int
) -> UniverseRef:
    """§2.1–2.3 with the §9.1 defaults (stock, preferred, unknown; managed/halted excluded)."""
    why: dict[str, str | None] = {}
    value: dict[str, float] = {}
    by_market: dict[str, list[str]] = {"KOSPI": [], "KOSDAQ": []}
    for tk in tickers:
        has_bar = bool(tk.bars) and tk.bars[-1].date == day
        if has_bar:
            value[tk.code] = tk.bars[-1].value
        if not has_bar:
            why[tk.code] = "no_bar_on_date"
        elif tk.market not in ("KOSPI", "KOSDAQ"):
            why[tk.code] = "market"
        elif tk.security_type not in ("stock", "preferred", None):
            why[tk.code] = "security_type"
        elif tk.managed:
            why[tk.code] = "managed"
        elif tk.halted:
            why[tk.code] = "halted"
        else:
            why[tk.code] = None
            by_market[tk.market].append(tk.code)
    member: set[str] = set()
    for market, limit in (("KOSPI", kospi_limit), ("KOSDAQ", kosdaq_limit)):
        ranked = sorted(by_market[market], key=lambda code: (-value[code], code))
        kept = ranked if limit == 0 else ranked[:limit]
        member.update(kept)
        for code in ranked[len(kept) :]:
            why[code] = "rank"
    return UniverseRef(member, why, value)


def final_limits(cond: Any, kp: int = 100, kd: int = 100) -> tuple[int, int]:
    """§2.4 divergence resize (status ok and market_divergence only)."""
    if cond.status != "ok" or not cond.market_divergence:
        return kp, kd

    def resize(limit: int, factor: float) -> int:
        return 0 if limit == 0 else max(1, math.floor(factor * limit))

    if cond.divergence_type == "kospi_up_kosdaq_down":
        return resize(kp, 1.5), resize(kd, 0.5)
    if cond.divergence_type == "kospi_down_kosdaq_up":
        return resize(kp, 0.5), resize(kd, 1.5)
    return kp, kd


# --------------------------------------------------------------------------- §4 shared


def base_risk(s: Series) -> int:
    t = s.t
    points = 0
    if s.RSI_TEMA[t] > 80:
        points += 2
    if s.v[t] > 3.0 * s.VOL_MA5:
        points += 2
    if s.macd_duration < 3:
        points += 1
    if s.up_days5 >= 4:
        points += 1
    return points


def classify(x: float, f: dict, rsi_tema: float | None) -> str:
    """§4.3; ``rsi_tema`` None → the v1 column, else the v2 column."""
    momentum = 3 * f["cross"] + 2 * f["vol_expand"] + f["macd_ok"] + f["rsi_ok"]
    trend = 2 * (f["tema_slope_ok"] + f["obv_slope_ok"] + f["above_cnt5_ok"] + f["dema_slope_ok"])
    if x >= 10:
        if f["cross"] and f["vol_expand"] and momentum >= 6:
            return "스윙"
        return "포지션" if trend >= 5 else "스윙"
    if x >= 8:
        if f["cross"] and trend >= 4:
            return "포지션"
        if f["vol_expand"] and momentum >= 5:
            return "스윙"
        return "포지션"
    if x >= 6:
        if rsi_tema is None:
            return "장기" if trend >= 2 else "관찰"
        return "장기" if trend >= 3 and rsi_tema < 65 else "관찰"
    if x >= 4 and rsi_tema is not None:
        return "장기" if trend >= 2 and rsi_tema < 65 else "관찰"
    return "관찰"


def bonus(cond: Any, market: str | None) -> float:
    """§4.5 divergence bonus (status ok only)."""
    if cond.status != "ok" or not cond.market_divergence:
        return 0.0
    favoured = {"kospi_up_kosdaq_down": "KOSPI", "kospi_down_kosdaq_up": "KOSDAQ"}
    return 1.0 if favoured.get(cond.divergence_type) == market else 0.0


def _score_flags(
    s: Series, vol5: float, vol20: float, osc_min: float, rsi_thr: float, dema_ok: bool
) -> dict:
    """§5.3 / §6.5 component flags on bar t."""
    t = s.t
    rsi, rsid = s.RSI_TEMA[t], s.RSI_DEMA[t]
    c = s.c[t]
    return {
        "cross": s.cross,
        "vol_expand": s.VOL_MA5 > 0
        and s.v[t] >= vol5 * s.VOL_MA5
        and s.VMA20 > 0
        and s.v[t] >= vol20 * s.VMA20,
        "macd_ok": s.macd_golden_cross or s.macd_line_up or s.MACD_OSC[t] > osc_min,
        "rsi_ok": rsi > rsid or (abs(rsi - rsid) < 3 and rsi > rsi_thr),
        "tema_slope_ok": s.TEMA20_SLOPE20 > 0.001 and c > s.TEMA20[t],
        "obv_slope_ok": s.OBV_SLOPE20 > 0.001,
        "above_cnt5_ok": s.ABOVE_CNT5 >= 3,
        "dema_slope_ok": dema_ok,
    }


WEIGHTS = {
    "cross": 3,
    "vol_expand": 2,
    "macd_ok": 1,
    "rsi_ok": 1,
    "tema_slope_ok": 2,
    "obv_slope_ok": 2,
    "above_cnt5_ok": 2,
    "dema_slope_ok": 2,
}


def _counts(f: dict) -> tuple[int, int]:
    basic = f["cross"] + f["vol_expand"] + f["macd_ok"] + f["rsi_ok"]
    additional = f["obv_slope_ok"] + f["tema_slope_ok"] + f["above_cnt5_ok"]
    return int(basic), int(additional)


def _gap_ext(s: Series, gap_max: float, ext_max: float) -> bool:
    return max(s.gap_now, 0.0) >= 0.002 and s.gap_now <= gap_max and s.ext_pct <= ext_max


def _overheat_ok(s: Series) -> bool:
    t = s.t
    return not (s.RSI_TEMA[t] >= 70 and s.v[t] >= 3.0 * s.VOL_MA5)


# --------------------------------------------------------------------------- §5 v1

V1_INVERSE = ("인버스", "2X", "레버리지", "SHORT", "BEAR", "DOWN")
V1_BOND = ("금리액티브", "머니마켓액티브", "CD금리", "채권", "국채", "KRX금현물")
V1_PRESETS = ({}, {"min_signals": 3, "vol_ma5_mult": 2.0}, {"min_signals": 2, "vol_ma5_mult": 1.8})


@dataclass
class Pick:
    code: str
    rank: int
    score: float | None
    strategy: str


@dataclass
class Outcome:
    picks: list[Pick]
    reasons: dict[str, str | None]
    extra: dict = field(default_factory=dict)


def _v1_step(tk: Ticker, s: Series, cond: Any, preset: dict) -> tuple[str | None, float, dict]:
    """One §5.2 pass: (first failed check or None, score, flags for the classifier)."""
    ok = cond.status == "ok"
    th = cond.thresholds if ok else None
    min_signals = preset.get("min_signals", th.min_signals if ok else 3)
    rsi_thr = th.rsi_threshold if ok else 58.0
    ceiling = th.rsi_threshold + 25.0 if ok else 70.0
    vol5 = preset.get("vol_ma5_mult", 2.5)
    vol20 = preset.get("vol_ma20_mult", 1.2)
    gap_max = preset.get("gap_max", 0.015)
    ext_max = preset.get("ext_from_tema20_max", 0.015)
    t, c = s.t, s.c[s.t]
    dema_ok = s.DEMA10_SLOPE20 > 0 and c > s.DEMA10[t]
    f = _score_flags(s, vol5, vol20, 0.0, rsi_thr, dema_ok)
    basic, additional = _counts(f)
    signals = basic + additional
    raw = sum(WEIGHTS[k] for k, on in f.items() if on and k != "dema_slope_ok")
    checks = [
        ("name_filter", not any(word in tk.name for word in V1_INVERSE + V1_BOND)),
        ("rsi_ceiling", s.RSI_TEMA[t] <= ceiling),
        ("liquidity", s.turnover20 >= 1e9),
        ("price", c >= 2000),
        ("trend_ema60", c >= s.EMA60[t]),
        ("overheat", _overheat_ok(s)),
        ("gap_ext", _gap_ext(s, gap_max, ext_max)),
        ("atr", 0.01 <= s.ATR_PCT <= 0.04),
        ("risk", base_risk(s) < 3),
        ("trend_dema_slope", dema_ok),
        ("signals", signals >= min_signals),
    ]
    failed = next((code for code, passed in checks if not passed), None)
    adjusted = raw + max(0, signals - min_signals)  # S′
    info = {"flags": f, "adjusted": adjusted}
    return failed, raw + bonus(cond, tk.market), info


def run_v1(tickers: dict[str, Ticker], series: dict[str, Series], uni: UniverseRef, cond: Any):
    regime = cond.final_regime if cond.status == "ok" else "neutral"
    target_min, target_max = (2, 3) if regime == "bear" else (3, 5)
    evaluated = [code for code in series if code in uni.member]
    steps = []
    chosen = None
    for number, preset in enumerate(V1_PRESETS):
        results = {code: _v1_step(tickers[code], series[code], cond, preset) for code in evaluated}
        matched = [code for code, (failed, _, _) in results.items() if failed is None]
        matched.sort(key=lambda code: (-results[code][1], -uni.value[code], code))
        steps.append((results, matched))
        if len(matched) >= target_min:
            chosen = number
            break
    results, matched = steps[-1]
    picked = matched[: min(5, target_max)] if chosen is not None else []
    reasons = _pre_reasons(tickers, uni, MIN_HISTORY)
    for code in evaluated:
        reasons[code] = results[code][0]
    for code in matched:
        reasons[code] = "not_in_top_k" if chosen is not None else "fallback_exhausted"
    picks = []
    for rank, code in enumerate(picked, start=1):
        reasons[code] = None
        _, score, info = results[code]
        strategy = classify(info["adjusted"], info["flags"], None)
        picks.append(Pick(code, rank, score, strategy))
    return Outcome(picks, reasons, {"chosen_step": chosen, "steps": len(steps)})


# --------------------------------------------------------------------------- §6 v2

V2_INVERSE = ("인버스", "레버리지", "2X", "3X")
V2_BOND = ("국채", "채권", "회사채", "머니마켓", "금리")
V2_CUTOFFS = {
    "bull": (6.0, 4.3, 5.0),
    "neutral": (6.0, 4.5, 6.0),
    "bear": (999.0, 5.5, 6.0),
    "crash": (999.0, 999.0, 6.0),
}
V2_CAPS = {0: (20, 15, 20), 1: (15, 10, 20), 2: (10, 5, 15), 3: (5, 3, 10)}


def _v2_ticker(tk: Ticker, s: Series, cond: Any) -> tuple[str | None, float, str]:
    """§6.3–6.5 for one ticker: (first failed check or None, V, strategy)."""
    ok = cond.status == "ok"
    th = cond.thresholds if ok else None
    rsi_thr = th.rsi_threshold if ok else 58.0
    ceiling = th.rsi_threshold + 25.0 if ok else 83.0
    min_signals = th.min_signals if ok else 3
    soft_vol = th.vol_ma5_mult if ok else 2.5
    gap_max = th.gap_max if ok else 0.015
    ext_max = th.ext_from_tema20_max if ok else 0.015
    osc_min = th.macd_osc_min if ok else 0.0
    is_bull = ok and (
        cond.market_sentiment == "bull"
        or cond.final_regime == "bull"
        or (cond.global_trend_score is not None and cond.global_trend_score > 1.0)
    )
    t, c = s.t, s.c[s.t]
    rsi, rsid = s.RSI_TEMA[t], s.RSI_DEMA[t]
    tema_above = s.TEMA20[t] > s.DEMA10[t]
    # §6.4 soft filter
    cond_gc = (s.crossed_recently or tema_above) and s.TEMA20_SLOPE20 > 0
    cond_macd = s.MACD_LINE[t] > s.MACD_SIGNAL[t] or s.MACD_OSC[t] > 0
    cond_rsi = rsi > rsid or (abs(rsi - rsid) < 3 and rsi > rsi_thr)
    cond_vol = s.VOL_MA5 > 0 and s.v[t] >= soft_vol * s.VOL_MA5
    soft_additional = (
        int(s.OBV_SLOPE20 > 0.001)
        + int(s.TEMA20_SLOPE20 > 0.001 and c > s.TEMA20[t])
        + int(s.ABOVE_CNT5 >= 3)
    )
    soft_count = int(cond_gc) + int(cond_macd) + int(cond_rsi) + int(cond_vol) + soft_additional
    if is_bull:
        votes = [s.TEMA20_SLOPE20 > 0, s.OBV_SLOPE20 > 0, s.ABOVE_CNT5 >= 2, tema_above]
        trend_ok = sum(votes) >= 2
    else:  # require_dema_slope defaults to `optional`: no DEMA10 slope condition
        trend_ok = s.TEMA20_SLOPE20 > 0 and s.OBV_SLOPE20 > 0 and s.ABOVE_CNT5 >= 3
    risk = base_risk(s)
    checks = [
        ("name_filter", not any(word in tk.name for word in V2_INVERSE + V2_BOND)),
        ("liquidity", s.turnover20 >= 1e9),
        ("price", c >= 2000),
        ("rsi_ceiling", rsi <= ceiling),
        ("overheat", _overheat_ok(s)),
        ("gap_ext", _gap_ext(s, gap_max, ext_max)),
        ("atr", True),  # use_atr_filter defaults to false for v2
        ("signals", soft_count >= min_signals),
        ("trend_gate", trend_ok),
        ("risk", risk < 4),
    ]
    failed = next((code for code, passed in checks if not passed), None)
    # §6.5 score
    f = _score_flags(s, 2.5, 1.2, osc_min, rsi_thr, s.DEMA10_SLOPE20 > 0.001)
    raw = sum(WEIGHTS[k] for k, on in f.items() if on)
    basic, _ = _counts(f)
    extra = 0
    if raw >= 6:
        ratio, ext = s.vol_ratio, s.ext_pct
        extra += 3 if rsi >= 75 else 2 if rsi >= 70 else 0
        extra += 3 if ratio >= 3.0 else 2 if ratio >= 2.5 else 0
        extra += 3 if ext >= 0.08 else 2 if ext >= 0.05 else 0
        if (rsi >= 70) + (ratio >= 2.5) + (ext >= 0.05) >= 2:
            extra += 2
    multiplier = 2.0 if raw >= 8 else 1.5 if raw >= 6 else 1.0
    adjusted_risk = math.trunc((risk + extra) * multiplier)
    a = raw - adjusted_risk
    if a < 4 and basic < 2:
        a = 0
    v = a + bonus(cond, tk.market)
    return failed, float(v), classify(v, f, rsi)


def run_v2(tickers: dict[str, Ticker], series: dict[str, Series], uni: UniverseRef, cond: Any):
    reasons = _pre_reasons(tickers, uni, MIN_HISTORY)
    ok = cond.status == "ok"
    regime = cond.final_regime
    gate_open = not ok or not (
        regime == "bear" or (regime == "crash" and cond.longterm_regime != "bull")
    )
    evaluated = [code for code in series if code in uni.member]
    if not gate_open:
        for code in evaluated:
            reasons[code] = "regime_gate"
        return Outcome([], reasons, {"gate": False})
    results = {code: _v2_ticker(tickers[code], series[code], cond) for code in evaluated}
    for code in evaluated:
        reasons[code] = results[code][0]
    candidates = [code for code in evaluated if results[code][0] is None]
    candidates.sort(key=lambda code: (-results[code][1], -uni.value[code], code))
    if not ok:
        selected = candidates
    else:
        risk = min(3, max(0, cond.short_term_risk_score))
        adjust = {0: 0.0, 1: 0.5}.get(risk, 1.0)
        cutoffs, caps = V2_CUTOFFS[regime], V2_CAPS[risk]
        kept_counts = [0, 0, 0]
        selected = []
        for code in candidates:
            effective = results[code][1] - adjust
            qualifies = [effective >= cut for cut in cutoffs]
            if not any(qualifies):
                reasons[code] = "cutoff"
                continue
            kept = False
            for h in range(3):
                if qualifies[h]:
                    kept_counts[h] += 1  # counts every qualifying candidate, kept or not
                    if kept_counts[h] <= caps[h]:
                        kept = True
            if kept:
                selected.append(code)
            else:
                reasons[code] = "horizon_cap"
    picks = []
    for position, code in enumerate(selected):
        if position >= 5:
            reasons[code] = "not_in_top_k"
            continue
        reasons[code] = None
        picks.append(Pick(code, position + 1, results[code][1], results[code][2]))
    return Outcome(picks, reasons, {"gate": True})


# --------------------------------------------------------------------------- §7 v3


def _midterm_checks(s: Series) -> str | None:
    t, c = s.t, s.c[s.t]
    ema20, ema60 = s.EMA20[t], s.EMA60[t]
    rsi = s.RSI14[t]
    checks = [
        ("liquidity", s.turnover20 >= 1e9),
        ("price", c >= 2000),
        ("trend_alignment", c > ema20 and ema20 > ema60),
        ("trend_slope", s.EMA60_SLOPE20 > 0),
        ("rsi_band", 45 <= rsi <= 72),
        ("return_band", 0.03 <= s.R20 <= 0.30),
        ("overextended", c <= 1.12 * ema20),
    ]
    return next((code for code, passed in checks if not passed), None)


def _midterm_score(s: Series, pr: float) -> float:
    t = s.t
    c1 = 3 * min(1.0, (s.EMA20[t] / s.EMA60[t] - 1) / 0.10)
    c2 = 2 * pr
    c3 = 2 * max(0.0, 1 - abs(s.RSI14[t] - 60) / 15)
    q = s.VOL_MA5 / s.VMA20
    c4 = 2 * min(1.0, max(0.0, (q - 0.8) / 0.7))
    r20 = s.R20
    if 0.06 <= r20 <= 0.15:
        c5 = 1.0
    elif r20 < 0.06:
        c5 = (r20 - 0.03) / 0.03
    else:
        c5 = (0.30 - r20) / 0.15
    return c1 + c2 + c3 + c4 + c5


def _pullback_checks(s: Series) -> str | None:
    t, c = s.t, s.c[s.t]
    ema20, ema60 = s.EMA20[t], s.EMA60[t]
    touched = any(0.97 * s.EMA20[j] <= s.l[j] <= 1.02 * s.EMA20[j] for j in (t - 2, t - 1, t))
    checks = [
        ("liquidity", s.turnover20 >= 1e9),
        ("price", c >= 2000),
        ("trend_ema60", c > ema60),
        ("trend_alignment", ema20 > ema60),
        ("trend_slope", s.EMA60_SLOPE20 > 0),
        ("high_age", s.HIGH_AGE <= 9),
        ("pullback_depth", 0.03 <= s.PB_DEPTH <= 0.12),
        ("ema20_touch", touched),
        ("volume_contraction", s.VOL_MA5 < s.VMA20),
        ("reversal_bar", c > s.o[t] and c > s.c[t - 1]),
    ]
    return next((code for code, passed in checks if not passed), None)


def run_v3(tickers: dict[str, Ticker], series: dict[str, Series], uni: UniverseRef, cond: Any):
    """(midterm Outcome, v2_lite Outcome) of §7."""
    evaluated = [
        code for code in series if code in uni.member and len(tickers[code].bars) >= V3_MIN_BARS
    ]
    # midterm §7.2
    slopes = [series[code].EMA60_SLOPE20_PCT for code in evaluated]
    n = len(slopes)
    mid_reasons = _pre_reasons(tickers, uni, V3_MIN_BARS)
    scores = {}
    for code in evaluated:
        failed = _midterm_checks(series[code])
        mid_reasons[code] = failed
        if failed is None:
            x = series[code].EMA60_SLOPE20_PCT
            smaller = sum(1 for y in slopes if y < x)
            equal = sum(1 for y in slopes if y == x)
            pr = 1.0 if n == 1 else (smaller + 0.5 * (equal - 1)) / (n - 1)
            scores[code] = _midterm_score(series[code], pr)
    ordered = sorted(scores, key=lambda code: (-scores[code], -uni.value[code], code))
    mid_picks = []
    for position, code in enumerate(ordered):
        if position >= 10:
            mid_reasons[code] = "not_in_top_k"
        else:
            mid_reasons[code] = None
            mid_picks.append(Pick(code, position + 1, scores[code], "midterm"))
    # pullback §7.3
    routed = (
        cond.status == "ok"
        and cond.final_regime == "neutral"
        and cond.short_term_risk_label == "normal"
    )
    pull_reasons = _pre_reasons(tickers, uni, V3_MIN_BARS)
    pull_picks = []
    if not routed:
        for code in evaluated:
            pull_reasons[code] = "regime_gate"
    else:
        matched = []
        for code in evaluated:
            failed = _pullback_checks(series[code])
            pull_reasons[code] = failed
            if failed is None:
                matched.append(code)
        matched.sort(key=lambda code: (series[code].DIST_EMA20, -uni.value[code], code))
        for position, code in enumerate(matched):
            if position >= 10:
                pull_reasons[code] = "not_in_top_k"
            else:
                pull_reasons[code] = None
                pull_picks.append(Pick(code, position + 1, None, "v2_lite"))
    return (
        Outcome(mid_picks, mid_reasons, {"evaluated_set": n}),
        Outcome(pull_picks, pull_reasons, {"routed": routed}),
    )


# --------------------------------------------------------------------------- the scan


def _pre_reasons(tickers: dict[str, Ticker], uni: UniverseRef, min_bars: int) -> dict:
    """§8.4 precedence before any check: no_bar_on_date, insufficient_history,
    not_in_universe; None (to be decided) for the evaluated tickers."""
    reasons: dict[str, str | None] = {}
    for code, tk in tickers.items():
        if uni.why[code] == "no_bar_on_date":
            reasons[code] = "no_bar_on_date"
        elif len(tk.bars) < min_bars:
            reasons[code] = "insufficient_history"
        elif code not in uni.member:
            reasons[code] = "not_in_universe"
        else:
            reasons[code] = None
    return reasons


@dataclass
class ScanRef:
    base: UniverseRef
    final: UniverseRef
    limits: tuple[int, int]
    outcomes: dict[str, Outcome]


def reference_scan(
    tickers: Sequence[Ticker], day: str, cond: Any, series_memo: dict[str, Series] | None = None
) -> ScanRef:
    """Every engine of §5–§7 for scan date ``day`` (ISO), with the §9 default parameters.

    ``tickers`` hold their windows (`window_of`); ``cond`` is the §3 market condition of D.
    A ticker's `Series` depends on its window alone, so the scans of one date under several
    conditions may share ``series_memo`` (code → Series) instead of computing them again.
    """
    by_code = {tk.code: tk for tk in tickers}
    base = build_universe(tickers, day, 100, 100)
    limits = final_limits(cond)
    final = build_universe(tickers, day, *limits) if limits != (100, 100) else base
    memo = {} if series_memo is None else series_memo
    series = {}
    for code, tk in by_code.items():
        if code in final.member and len(tk.bars) >= MIN_HISTORY:
            if code not in memo:
                memo[code] = Series(tk.bars)
            series[code] = memo[code]
    midterm, pullback = run_v3(by_code, series, final, cond)
    outcomes = {
        "v1": run_v1(by_code, series, final, cond),
        "v2": run_v2(by_code, series, final, cond),
        "midterm": midterm,
        "v2_lite": pullback,
    }
    return ScanRef(base, final, limits, outcomes)
