"""`evaluate` on a constructed market where every figure is known in closed form.

Thirty stored sessions; every stock starts at 1,000,000 and moves by a constant factor each
session, so that any N-session return is (1 + g)^N - 1 (closes are stored as integers: the
rounding is below 1e-6). Horizon N = 5 throughout.

| code | market, type | g a session | traded value | role |
|---|---|---|---|---|
| 000010 K1 | KOSPI stock | +1 % | 4e9 | v1's and v2's pick |
| 000020 K2 | KOSPI stock | 0 | 3e9 | |
| 000030 K3 | KOSPI stock | -1 % | 2e9 | v3's pick |
| 000040 K4 | KOSPI stock | +2 % | 1e9 | 4th by value: only in the resized universe |
| 000050 Q1 | KOSDAQ stock | +0.5 % | 9e8 | |
| 000060 Q2 | KOSDAQ stock | +1 % | 8e8 | bars stop after session 12 (a delisting) |
| 000070 Q3 | KOSDAQ stock | 0 | 7e8 | 3rd by value: a member once Q2 is gone |
| 000080 E1 | KOSPI ETF | +5 % | 9e9 | never in the universe |
| 229200 | KOSDAQ ETF | +0.2 % | 5e9 | the KOSDAQ proxy (no KOSDAQ index bars) |

The KOSPI index grows 0.3 % a session. Every run records the universe limits KOSPI 3, KOSDAQ 2,
and on session 5 a market condition with a KOSPI-up divergence, which resizes them to 4 and 1.
So the universe of session r is K1 K2 K3 Q1 Q2 (r ≤ 12), K1 K2 K3 Q1 Q3 (r ≥ 13), and
K1 K2 K3 K4 Q1 on session 5.

Results: v1 stores a result every session, from cron on the evening of the date (live), with
one pick (K1) on session 0; v2 picks K1 every session, from cron on sessions 0 … 14 (live), a
manual rerun a day later on session 15 and a backfill afterwards; v3 (backfill) picks K3 on
even sessions, and Q2 as well on session 10.
"""

from __future__ import annotations

import json
import unicodedata

import pytest

from scanctl.market.costs import TradingCosts
from scanctl.reports.evaluate import evaluate_picks, track_record
from tests.conftest import run_cli
from tests.reports.evaluate_market import (
    CALM,
    add_bars,
    add_index,
    add_result,
    add_tickers,
    weekdays,
)

N = 5
SESSIONS = 30
DATES = weekdays("2025-03-03", SESSIONS)
P0 = 1_000_000
GROWTH = {
    "000010": 0.01,
    "000020": 0.0,
    "000030": -0.01,
    "000040": 0.02,
    "000050": 0.005,
    "000060": 0.01,
    "000070": 0.0,
    "000080": 0.05,
    "229200": 0.002,
}
VALUES = {
    "000010": 4e9,
    "000020": 3e9,
    "000030": 2e9,
    "000040": 1e9,
    "000050": 9e8,
    "000060": 8e8,
    "000070": 7e8,
    "000080": 9e9,
    "229200": 5e9,
}
TICKERS = {code: ("KOSPI", "stock") for code in ("000010", "000020", "000030", "000040")}
TICKERS |= {code: ("KOSDAQ", "stock") for code in ("000050", "000060", "000070")}
TICKERS |= {"000080": ("KOSPI", "etf"), "229200": ("KOSDAQ", "etf")}
Q2_LAST = 12  # the last session with a bar of 000060
RESIZE_ROW = 5
LIMITS = {"kospi_limit": 3, "kosdaq_limit": 2}
DIVERGENT = {
    "status": "ok",
    "divergence": {"market_divergence": True, "divergence_type": "kospi_up_kosdaq_down"},
}
COSTS = TradingCosts()  # commission 0.015 % a side, tax 0.20 % on sales
BUY, SELL = 1 / 1.00015, 1 - 0.00015 - 0.002


def close(code: str, k: int) -> int:
    return round(P0 * (1 + GROWTH[code]) ** k)


def build_market(db) -> None:
    add_tickers(db, TICKERS)
    bars = {
        code: [
            None if code == "000060" and k > Q2_LAST else (close(code, k),) * 3
            for k in range(SESSIONS)
        ]
        for code in GROWTH
    }
    add_bars(db, DATES, bars, {code: int(v) for code, v in VALUES.items()})
    add_index(db, "KOSPI", DATES, [2500 * 1.003**k for k in range(SESSIONS)])
    for k, day in enumerate(DATES):
        run = {"limits": LIMITS, "condition": DIVERGENT if k == RESIZE_ROW else CALM}
        k1 = {"code": "000010", "close": close("000010", k), "strategy": "포지션"}
        add_result(db, day, "v1", [k1] if k == 0 else [], trigger="cron", **run)
        if k <= 14:
            add_result(db, day, "v2", [k1], trigger="cron", **run)
        elif k == 15:
            add_result(
                db,
                day,
                "v2",
                [k1],
                trigger="manual",
                started_at=f"{DATES[16]}T09:00:00+09:00",
                **run,
            )
        else:
            add_result(db, day, "v2", [k1], **run)
        v3 = []
        if k % 2 == 0:
            v3.append({"code": "000030", "close": close("000030", k), "strategy": "midterm"})
        if k == 10:
            v3.append({"code": "000060", "close": close("000060", k), "strategy": "midterm"})
        add_result(db, day, "v3", v3, **run)


@pytest.fixture
def market(db):
    build_market(db)
    return db


def grown(g: float, sessions: int = N) -> float:
    return (1 + g) ** sessions - 1


def member_returns(r: int) -> list[float]:
    """The members' N-session returns from session r, worked out from the table above."""
    if r == RESIZE_ROW:
        codes = ["000010", "000020", "000030", "000040", "000050"]
    elif r <= Q2_LAST:
        codes = ["000010", "000020", "000030", "000050", "000060"]
    else:
        codes = ["000010", "000020", "000030", "000050", "000070"]
    # Q2's bars stop after session 12: from r = 8 on its exit is its session-12 close.
    return [
        grown(GROWTH[c], min(N, Q2_LAST - r)) if c == "000060" else grown(GROWTH[c]) for c in codes
    ]


def bench(r: int) -> float:
    values = member_returns(r)
    return sum(values) / len(values)


def net(gross: float) -> float:
    return (1 + gross) * BUY * SELL - 1


NET_K1 = net(grown(0.01))  # every closed pick of v1 and v2
CLOSED_ROWS = range(SESSIONS - N)  # sessions 0 … 24 have their 5th session stored


def by_key(evaluation):
    groups = {}
    for s in [*evaluation.by_version, *evaluation.by_origin, *evaluation.by_strategy]:
        groups[(s.version, s.origin or s.strategy or "all")] = s
    return groups


def test_round_trip_costs_are_charged(market):
    """The net return of a pick = (1 + gross) / (1 + commission) × (1 - commission - tax) - 1."""
    evaluation = evaluate_picks(market, horizon=N, costs=COSTS)
    v2 = by_key(evaluation)[("v2", "all")]
    assert v2.gross_return == pytest.approx(grown(0.01), abs=1e-6)  # 0.0510100501
    assert v2.mean_return == pytest.approx(NET_K1, abs=1e-6)  # 0.0485932…
    assert v2.mean_return == pytest.approx(1.0510100501 * 0.99785 / 1.00015 - 1, abs=1e-6)
    free = evaluate_picks(market, horizon=N, costs=TradingCosts(0.0, 0.0))
    assert by_key(free)[("v2", "all")].mean_return == pytest.approx(grown(0.01), abs=1e-6)
    assert evaluation.to_record()["costs"]["round_trip"] == pytest.approx(1 - 0.99785 / 1.00015)


def test_benchmark_is_the_scan_universe_of_the_day(market):
    """Not every stored ticker: the ETFs (+5 %, +0.2 %) and K4 (beyond the KOSPI limit of 3)
    stay out, except that the resize recorded on session 5 lets K4 in and Q2 out."""
    picks = [p for p in evaluate_picks(market, horizon=N).picks if p["version"] == "v2"]
    for r in CLOSED_ROWS:
        assert picks[r]["benchmark_return"] == pytest.approx(bench(r), abs=1e-6), r
    # Session 0: (0.05101 + 0 - 0.04901 + 0.02525 + 0.05101) / 5 = 0.015652…
    assert picks[0]["benchmark_return"] == pytest.approx(0.0156527, abs=1e-6)
    # Session 5, resized: K4 (+10.408 %) instead of Q2.
    assert picks[RESIZE_ROW]["benchmark_return"] == pytest.approx(
        (grown(0.01) + 0 + grown(-0.01) + grown(0.02) + grown(0.005)) / 5, abs=1e-6
    )
    assert all(p["benchmark_return"] is None for p in picks[SESSIONS - N :])  # open


def test_picks_beat_the_universe_by_the_known_margin(market):
    groups = by_key(evaluate_picks(market, horizon=N))
    v2 = groups[("v2", "all")]
    mean_bench = sum(bench(r) for r in CLOSED_ROWS) / len(CLOSED_ROWS)
    assert v2.benchmark_return == pytest.approx(mean_bench, abs=1e-6)
    assert v2.excess_return == pytest.approx(NET_K1 - mean_bench, abs=1e-6)
    # v3 holds K3 (-1 % a session) on even sessions 0 … 24 and Q2 on session 10.
    v3 = groups[("v3", "all")]
    rows = [*range(0, SESSIONS - N, 2), 10]
    returns = [net(grown(-0.01))] * 13 + [net(grown(0.01, Q2_LAST - 10))]
    excess = [ret - bench(r) for ret, r in zip(returns, rows, strict=True)]
    assert (v3.closed, v3.open) == (14, 2)
    assert v3.mean_return == pytest.approx(sum(returns) / 14, abs=1e-6)
    assert v3.excess_return == pytest.approx(sum(excess) / 14, abs=1e-6)


def test_a_delisting_is_treated_alike_in_picks_and_benchmark(market):
    """Q2's bars stop after session 12: v3's pick of session 10 exits at the session-12 close
    (carried), and the universe member Q2 of sessions 8 … 12 the same way."""
    evaluation = evaluate_picks(market, horizon=N)
    (q2,) = [p for p in evaluation.picks if p["code"] == "000060"]
    assert q2["carried"] and q2["closed"] and q2["exit_date"] == DATES[10 + N]
    assert q2["exit_close"] == close("000060", Q2_LAST)
    assert q2["gross_return"] == pytest.approx(grown(0.01, 2), abs=1e-6)  # +2.01 %
    # The benchmark of session 10 holds the same +2.01 % for Q2 (not dropped, not a loss).
    assert q2["benchmark_return"] == pytest.approx(bench(10), abs=1e-6)
    assert grown(0.01, 2) in member_returns(10)
    groups = by_key(evaluation)
    assert groups[("v3", "all")].carried == 1 and groups[("v2", "all")].carried == 0
    # 25 closed windows of 5 members; Q2 is carried in the windows of sessions 8 … 12.
    assert evaluation.universe == {
        "windows": 25,
        "member_windows": 125,
        "carried": 5,
        "results_without_run": 0,
    }


def test_open_picks_are_apart(market):
    """Picks of the last 5 sessions are open: counted, never in the returns."""
    groups = by_key(evaluate_picks(market, horizon=N))
    v2 = groups[("v2", "all")]
    assert (v2.picks, v2.closed, v2.open) == (30, 25, 5)
    assert groups[("v2", "live")].open == 0 and groups[("v2", "backfill")].open == 5


def test_live_and_backfill_results_apart(market):
    """Live: a cron/manual/ci run started on the pick date; v2's manual rerun of session 15,
    started the next morning, counts as a backfill, like the backfill runs."""
    groups = by_key(evaluate_picks(market, horizon=N))
    live, backfill = groups[("v2", "live")], groups[("v2", "backfill")]
    assert (live.sessions, live.picks, live.closed) == (15, 15, 15)
    assert (backfill.sessions, backfill.picks, backfill.closed) == (15, 15, 10)
    assert live.mean_return == pytest.approx(NET_K1, abs=1e-6)
    assert live.benchmark_return == pytest.approx(sum(bench(r) for r in range(15)) / 15, abs=1e-6)
    assert backfill.benchmark_return == pytest.approx(
        sum(bench(r) for r in range(15, 25)) / 10, abs=1e-6
    )
    assert groups[("v3", "live")].picks == 0 and groups[("v3", "backfill")].picks == 16
    assert ("v2", "unknown") not in groups  # every result has its run


def test_index_returns_alongside(market):
    """KOSPI from its index bars (+0.3 % a session); no KOSDAQ index bars, so its ETF 229200
    (+0.2 % a session) stands in, and the record says so."""
    evaluation = evaluate_picks(market, horizon=N)
    v2 = by_key(evaluation)[("v2", "all")]
    assert v2.kospi_return == pytest.approx(grown(0.003), abs=1e-9)
    assert v2.kosdaq_return == pytest.approx(grown(0.002), abs=1e-6)
    assert evaluation.to_record()["indexes"] == {
        "KOSPI": {"series": "KOSPI", "kind": "index"},
        "KOSDAQ": {"series": "229200", "kind": "etf"},
    }


def test_pick_rate(market):
    """Sessions with picks / sessions with a stored result (NORESULT placeholders included)."""
    groups = by_key(evaluate_picks(market, horizon=N))
    rates = {
        v: (groups[(v, "all")].sessions_with_picks, groups[(v, "all")].sessions)
        for v in ("v1", "v2", "v3")
    }
    assert rates == {"v1": (1, 30), "v2": (30, 30), "v3": (15, 30)}
    assert groups[("v1", "all")].pick_rate == pytest.approx(1 / 30)


def test_intervals(market):
    """Every closed v2 pick returns the same (to the rounding of the stored closes): its
    interval is that point. v3's excess varies
    with the benchmark: the interval holds the mean. Same store, same intervals (fixed seed)."""
    first = evaluate_picks(market, horizon=N)
    groups = by_key(first)
    v2 = groups[("v2", "all")]
    low, high = v2.mean_return_ci
    assert low <= v2.mean_return <= high and high - low < 1e-6
    v3 = groups[("v3", "all")]
    low, high = v3.excess_return_ci
    assert low < v3.excess_return < high
    assert first.to_record()["bootstrap"] == {
        "method": "circular block bootstrap over sessions",
        "block_length": N,
        "resamples": 2000,
        "seed": 0,
        "level": 0.95,
    }
    again = by_key(evaluate_picks(market, horizon=N))
    assert again[("v3", "all")].excess_return_ci == v3.excess_return_ci


def test_equity_curves(market):
    """Five sleeves. v1 buys K1 with one sleeve on session 0 and holds cash after selling it on
    session 5; v2 buys K1 every session; the universe curve is the same rule, gross."""
    curves = {c.version: c for c in evaluate_picks(market, horizon=N).curves}
    assert curves["v1"].dates == DATES
    for t in range(SESSIONS):
        held = 1.01 ** min(t, N) * (SELL if t >= N else 1)
        assert curves["v1"].equity[t] == pytest.approx(0.8 + 0.2 * BUY * held, abs=1e-6), t
        members = [grown(GROWTH[c], min(t, N)) for c in ("000010", "000020", "000030", "000050")]
        members.append(grown(0.01, min(t, N)))  # Q2 still trades on sessions 0 … 5
        universe = 0.8 + 0.2 * (1 + sum(members) / 5)
        assert curves["v1"].universe[t] == pytest.approx(universe, abs=1e-6), t
    for t in range(SESSIONS):
        sleeves = [
            0.2 if t < j else 0.2 * (BUY * SELL) ** ((t - j) // N) * BUY * 1.01 ** (t - j)
            for j in range(N)
        ]
        assert curves["v2"].equity[t] == pytest.approx(sum(sleeves), abs=1e-6), t


def test_equity_bands(market):
    curve = track_record(market, horizon=N).curves[1]
    assert curve.version == "v2"
    assert curve.equity_low[0] == curve.equity_high[0] == curve.equity[0]
    assert (curve.equity_low <= curve.equity_high).all()
    assert (curve.equity_low[1:] < curve.equity_high[1:]).all()  # the early days differ
    assert (curve.universe_low <= curve.universe_high).all()
    record = curve.to_record()
    assert record["final"]["equity"] == pytest.approx(curve.final, abs=1e-6)
    assert len(record["equity_low"]) == len(record["dates"]) == SESSIONS


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(lines: list[str], header: str) -> list[list[str]]:
    """The rows of the table whose header line starts with ``header``, split on spaces."""
    start = next(k for k, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def test_cli_table_fits_80_columns_and_adds_up(market, db_path):
    result = run_cli("--db", str(db_path), "evaluate", "--horizon", str(N))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(display_width(line) for line in lines) <= 80
    returns = table(lines, "version  group     picks  open  closed")
    for row in returns:
        assert int(row[2]) == int(row[3]) + int(row[4]), row  # picks = open + closed
    totals = {(row[0], row[1]): row for row in returns}
    for version in ("v1", "v2", "v3"):
        parts = [int(totals[(version, o)][2]) for o in ("live", "backfill")]
        assert sum(parts) == int(totals[(version, "all")][2])
    assert totals[("v2", "all")][2:6] == ["30", "5", "25", f"{100 * NET_K1:+.2f}"]
    race = table(lines, "version  group     picks  target")
    for row in race:
        assert int(row[2]) == sum(int(cell) for cell in row[3:9]), row
    equity = {row[0]: row for row in table(lines, "version  sessions")}
    assert equity["v1"][1:4] == ["30", "1", "3.3%"] and equity["v3"][3] == "50.0%"


def test_cli_json_has_every_figure(market, db_path):
    result = run_cli("--db", str(db_path), "evaluate", "--horizon", str(N), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) >= {"costs", "bootstrap", "rule", "indexes", "universe", "curves"}
    v2 = doc["by_version"][1]
    figures = [
        "sessions",
        "sessions_with_picks",
        "pick_rate",
        "picks",
        "closed",
        "open",
        "carried",
        "mean_return",
        "mean_return_ci",
        "gross_return",
        "median_return",
        "benchmark_return",
        "excess_return",
        "excess_return_ci",
        "kospi_return",
        "kosdaq_return",
        "hit_rate",
        "outcomes",
    ]
    assert all(key in v2 for key in figures)
    assert v2["mean_return"] == pytest.approx(NET_K1, abs=1e-6)
    assert [g["origin"] for g in doc["by_origin"] if g["version"] == "v2"] == ["live", "backfill"]
    assert [c["version"] for c in doc["curves"]] == ["v1", "v2", "v3"]
    assert doc["picks"][0]["origin"] == "live"


def test_cli_costs_setting(market, db_path):
    free = {"SCANCTL_COSTS_COMMISSION_RATE": "0", "SCANCTL_COSTS_SELL_TAX_RATE": "0"}
    result = run_cli("--db", str(db_path), "evaluate", "--horizon", str(N), "--json", env=free)
    doc = json.loads(result.stdout)
    assert doc["costs"] == {"commission_rate": 0.0, "sell_tax_rate": 0.0, "round_trip": 0.0}
    assert doc["by_version"][1]["mean_return"] == pytest.approx(grown(0.01), abs=1e-6)
    bad = run_cli("--db", str(db_path), "evaluate", env={"SCANCTL_COSTS_SELL_TAX_RATE": "-1"})
    assert bad.returncode == 2
    assert bad.stderr == (
        "scanctl: error: [costs] sell_tax_rate must be a number ≥ 0 and < 0.1, got -1 "
        "(from SCANCTL_COSTS_SELL_TAX_RATE)\n"
    )
