"""`evaluate_picks` on a tiny hand-built market: each pick's exit, target/stop race and adverse
excursion, and the summaries per version and strategy.

Eight stored dates D0 … D7 of eight KOSPI stocks, built through the store API; every pick's
entry is 10,000 unless said otherwise, and every expected number below is worked out by hand in
the comments (never with the code under test). The guidance values are chosen to fit an
eight-session market: the evaluator reads each pick's own flags, so these need not be the
engines' defaults. Costs are zero here (`ZERO`): the returns are the gross ones; costs, the
universe and the intervals have their own market in test_evaluate_honest.

Horizon N = 3 throughout: the return is taken at D3 for the picks of D0.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scanctl.errors import BadInput
from scanctl.market.costs import TradingCosts
from scanctl.reports.evaluate import evaluate_picks
from tests.reports.evaluate_market import add_bars, add_result, add_tickers

ZERO = TradingCosts(commission_rate=0.0, sell_tax_rate=0.0)

D = [
    "2025-03-03",
    "2025-03-04",
    "2025-03-05",
    "2025-03-06",
    "2025-03-07",
    "2025-03-10",
    "2025-03-11",
    "2025-03-12",
]


def flat(close: int, spread: int = 50) -> tuple[int, int, int]:
    """(high, low, close) of a quiet bar."""
    return close + spread, close - spread, close


# (high, low, close) per date; None = no bar (a halt).
BARS = {
    # A: target first. Target 10,500 (+5 %) touched exactly on D2, the -2 % stop (9,800) only
    # later on D3. Return at D3: 9,900 / 10,000 - 1 = -0.01. MAE: min low D1…D3 = 9,700: -0.03.
    "000010": [flat(10000), (10200, 9900, 10100), (10500, 10000, 10400), (10450, 9700, 9900)]
    + [flat(9900)] * 4,
    # B: stop first. Stop 9,800 touched exactly on D2, the target only on D3.
    # Return: 10,500 / 10,000 - 1 = +0.05. MAE: min(9,850, 9,800, 9,900) = 9,800: -0.02.
    "000020": [flat(10000), (10300, 9850, 10200), (10400, 9800, 9900), (10600, 9900, 10500)]
    + [flat(10500)] * 4,
    # C: target (10,500) and stop (9,800) inside the same D1 bar → both_same_day (a stop).
    # Return: 10,200 / 10,000 - 1 = +0.02. MAE: min(9,700, 9,950, 10,150) = 9,700: -0.03.
    "000030": [flat(10000), (10600, 9700, 10000), flat(10000), flat(10200)] + [flat(10200)] * 4,
    # D: neither within its 4-session holding period (D1…D4 stay inside 9,850 … 10,400); the
    # 11,000 high of D5 is after it. Return: 10,000 / 10,000 - 1 = 0.0. MAE: 9,850: -0.015.
    "000040": [flat(10000)]
    + [(10400, 9850, 10000)] * 4
    + [(11000, 10000, 10800)]
    + [flat(10800)] * 2,
    # E: picked on D5 at 20,000 (target 21,000, stop 19,600); D6 and D7 touch neither and the
    # data ends two sessions into a four-session holding period → open; the D5+3 return is open.
    # MAE over the two stored sessions: min(19,700, 19,800) = 19,700: -0.015.
    "000050": [flat(20000, 100)] * 6 + [(20400, 19700, 20200), (20300, 19800, 20100)],
    # F: 관찰, no guidance. Entry 5,000; return 5,500 / 5,000 - 1 = +0.10;
    # MAE: min(4,900, 5,000, 5,100) = 4,900: -0.02.
    "000060": [(5050, 4950, 5000), (5100, 4900, 5050), (5200, 5000, 5100), (5500, 5100, 5500)]
    + [flat(5500)] * 4,
    # G: 스윙 at 8,000 (target 8,400, stop 7,600, holding 3), halted on D2 and D3. The race sees
    # only D1 (no touch) and the three sessions elapse → neither. The D3 exit carries the D1
    # close: 8,000 / 8,000 - 1 = 0.0. MAE: the D1 low 7,900: -0.0125.
    "000070": [flat(8000), (8100, 7900, 8000), None, None] + [flat(8000)] * 4,
    # H: picked on D5; the target (10,500) is touched on D6 → decided although the return is open.
    "000080": [flat(10000)] * 6 + [(10600, 9900, 10500), flat(10500)],
}
# Universe benchmark of the D0 → D3 window: the eight stocks all have a bar on D0, so all are
# members (limits 100). A -0.01, B +0.05, C +0.02, D 0.0, E 20,000/20,000 - 1 = 0.0, F +0.10,
# G 0.0 (halted on D3: its D1 close 8,000 is carried, as for the pick), H 0.0
# → sum 0.16 over 8 tickers = 0.02.
BENCH_D0 = 0.16 / 8

GUIDE = {"target_profit": 0.05, "stop_loss": -0.02, "holding_period": 4}
NO_GUIDE = {"target_profit": None, "stop_loss": None, "holding_period": None}
PICKS = [
    # (date, version, code, strategy, rank, flags)
    (D[0], "v3", "000010", "midterm", 1, GUIDE),
    (D[0], "v3", "000020", "midterm", 2, GUIDE),
    (D[0], "v3", "000040", "midterm", 3, GUIDE),
    (D[0], "v3", "000030", "v2_lite", 1, GUIDE),
    (D[0], "v2", "000060", "관찰", 1, NO_GUIDE),
    (
        D[0],
        "v2",
        "000070",
        "스윙",
        2,
        {"target_profit": 0.05, "stop_loss": -0.05, "holding_period": 3},
    ),
    (D[5], "v3", "000050", "midterm", 1, GUIDE),
    (D[5], "v3", "000080", "v2_lite", 1, GUIDE),
]


def insert_market(db) -> None:
    add_tickers(db, {code: ("KOSPI", "stock") for code in BARS})
    add_bars(db, D, BARS)
    closes = {
        (D[k], code): bar[2] for code, bars in BARS.items() for k, bar in enumerate(bars) if bar
    }
    results: dict[tuple[str, str], list[dict]] = {}
    for day, version, code, strategy, _rank, flags in sorted(PICKS, key=lambda p: p[4]):
        pick = {"code": code, "close": closes[(day, code)], "strategy": strategy, "flags": flags}
        results.setdefault((day, version), []).append(pick)
    for (day, version), picks in results.items():
        add_result(db, day, version, picks)
    # v1 stores only NORESULT placeholders, which evaluate counts as sessions, never as picks.
    for day in D:
        add_result(db, day, "v1")


@pytest.fixture
def market(db):
    insert_market(db)
    return db


def by_code(evaluation) -> dict[str, dict]:
    return {pick["code"]: pick for pick in evaluation.picks}


def test_each_outcome(market):
    picks = by_code(evaluate_picks(market, costs=ZERO, horizon=3))
    assert "NORESULT" not in picks and len(picks) == 8
    expected = {
        # code: (outcome, outcome_sessions, outcome_date)
        "000010": ("target", 2, D[2]),
        "000020": ("stop", 2, D[2]),
        "000030": ("both_same_day", 1, D[1]),
        "000040": ("neither", 4, D[4]),
        "000050": ("open", None, None),
        "000060": ("no_guidance", None, None),
        "000070": ("neither", 3, D[3]),
        "000080": ("target", 1, D[6]),
    }
    for code, (outcome, sessions, day) in expected.items():
        pick = picks[code]
        assert (pick["outcome"], pick["outcome_sessions"], pick["outcome_date"]) == (
            outcome,
            sessions,
            day,
        ), code


def test_returns_mae_and_open_picks(market):
    picks = by_code(evaluate_picks(market, costs=ZERO, horizon=3))
    returns = {
        "000010": -0.01,
        "000020": 0.05,
        "000030": 0.02,
        "000040": 0.0,
        "000060": 0.10,
        "000070": 0.0,  # halted on D2/D3: the D1 close carries to the D3 exit
    }
    for code, value in returns.items():
        assert picks[code]["closed"] and picks[code]["exit_date"] == D[3]
        assert picks[code]["return"] == pytest.approx(value, abs=1e-12), code
    assert picks["000070"]["exit_close"] == 8000
    maes = {
        "000010": -0.03,
        "000020": -0.02,
        "000030": -0.03,
        "000040": -0.015,
        "000050": -0.015,  # partial: the two stored sessions of an open pick
        "000060": -0.02,
        "000070": -0.0125,
    }
    for code, value in maes.items():
        assert picks[code]["mae"] == pytest.approx(value, abs=1e-12), code
    for code in ("000050", "000080"):  # D5 + 3 sessions lies past D7: open, never a loss
        pick = picks[code]
        assert not pick["closed"] and pick["return"] is None and pick["exit_date"] is None
        assert pick["benchmark_return"] is None
    assert picks["000060"]["target_profit"] is None and picks["000010"]["holding_period"] == 4


def test_universe_benchmark_and_excess(market):
    picks = by_code(evaluate_picks(market, costs=ZERO, horizon=3))
    assert picks["000010"]["benchmark_return"] == pytest.approx(BENCH_D0)
    # B: +0.05 - 0.0228571… = 0.0271428…
    assert picks["000020"]["excess_return"] == pytest.approx(0.05 - BENCH_D0)


def test_horizon_one(market):
    picks = by_code(evaluate_picks(market, costs=ZERO, horizon=1))
    # A at D1: 10,100 / 10,000 - 1 = +0.01; MAE over D1 only: 9,900: -0.01.
    assert picks["000010"]["return"] == pytest.approx(0.01)
    assert picks["000010"]["mae"] == pytest.approx(-0.01)
    # E and H (D5): D6 is stored → closed. E: 20,200 / 20,000 - 1 = +0.01; H: +0.05.
    assert picks["000050"]["return"] == pytest.approx(0.01)
    assert picks["000080"]["return"] == pytest.approx(0.05)
    # The race does not depend on the horizon.
    assert picks["000050"]["outcome"] == "open" and picks["000080"]["outcome"] == "target"


def test_summary_per_version(market):
    evaluation = evaluate_picks(market, costs=ZERO, horizon=3)
    # v1 holds only NORESULT placeholders: eight sessions, no pick.
    assert evaluation.versions == ("v1", "v2", "v3")
    v1, v2, v3 = evaluation.by_version
    assert (v1.picks, v1.sessions, v1.sessions_with_picks, v1.pick_rate) == (0, 8, 0, 0.0)
    assert v1.mean_return is None and v1.mean_return_ci is None
    # v3: A, B, C, D closed; E, H open. Targets A and H; stop B; both C; neither D; open E.
    assert (v3.version, v3.strategy, v3.picks, v3.closed, v3.open) == ("v3", None, 6, 4, 2)
    assert v3.outcomes == {
        "target": 2,
        "stop": 1,
        "both_same_day": 1,
        "neither": 1,
        "open": 1,
        "no_guidance": 0,
    }
    assert v3.hit_rate == pytest.approx(2 / 5)  # the open E is not in the denominator
    # Returns -0.01, 0.05, 0.02, 0.0: mean 0.06 / 4 = 0.015; median (0.0 + 0.02) / 2 = 0.01.
    assert v3.mean_return == pytest.approx(0.015)
    assert v3.median_return == pytest.approx(0.01)
    assert v3.benchmark_return == pytest.approx(BENCH_D0)
    assert v3.excess_return == pytest.approx(0.015 - BENCH_D0)  # -0.005
    # Two results (D0, D5) of eight sessions; one session of closed picks: no interval.
    assert (v3.sessions, v3.sessions_with_picks) == (2, 2)
    assert v3.mean_return_ci is None and v3.excess_return_ci is None
    # MAE: (-0.03 - 0.02 - 0.03 - 0.015) / 4 = -0.02375.
    assert v3.mean_mae == pytest.approx(-0.02375)
    # v2: F (no guidance) +0.10, G (neither) 0.0 → hit rate 0 / 1; mean and median 0.05.
    assert (v2.picks, v2.closed, v2.open) == (2, 2, 0)
    assert v2.outcomes["no_guidance"] == 1 and v2.outcomes["neither"] == 1
    assert v2.hit_rate == 0.0
    assert v2.mean_return == pytest.approx(0.05) and v2.median_return == pytest.approx(0.05)
    assert v2.excess_return == pytest.approx(0.05 - BENCH_D0)
    assert v2.mean_mae == pytest.approx((-0.02 - 0.0125) / 2)


def test_summary_per_strategy(market):
    groups = {
        (s.version, s.strategy): s
        for s in evaluate_picks(market, costs=ZERO, horizon=3).by_strategy
    }
    assert list(groups) == [
        ("v2", "스윙"),
        ("v2", "관찰"),
        ("v3", "midterm"),
        ("v3", "v2_lite"),
    ]
    midterm = groups[("v3", "midterm")]
    # A target, B stop, D neither, E open: hit rate 1 / 3; returns -0.01, 0.05, 0.0.
    assert (midterm.picks, midterm.closed, midterm.open) == (4, 3, 1)
    assert midterm.hit_rate == pytest.approx(1 / 3)
    assert midterm.mean_return == pytest.approx(0.04 / 3)
    assert midterm.median_return == pytest.approx(0.0)
    lite = groups[("v3", "v2_lite")]
    # C both_same_day (a stop), H target (decided though open): 1 / 2; return C only, +0.02.
    assert (lite.picks, lite.closed, lite.hit_rate) == (2, 1, 0.5)
    assert lite.mean_return == pytest.approx(0.02)
    assert groups[("v2", "관찰")].hit_rate is None  # no decided race


def test_by_date_series(market):
    rows = evaluate_picks(market, costs=ZERO, horizon=3).by_date
    # Only D0 has closed picks; v2 mean (0.10 + 0.0) / 2, v3 mean 0.015.
    assert [(r["version"], r["date"], r["closed"]) for r in rows] == [
        ("v2", D[0], 2),
        ("v3", D[0], 4),
    ]
    assert rows[0]["mean_return"] == pytest.approx(0.05)
    assert rows[1]["mean_return"] == pytest.approx(0.015)
    assert rows[1]["benchmark_return"] == pytest.approx(BENCH_D0)


def test_filters_by_version_and_date(market):
    only_v2 = evaluate_picks(market, versions=("v2",), horizon=3)
    assert {p["code"] for p in only_v2.picks} == {"000060", "000070"}
    late = evaluate_picks(market, start=dt.date(2025, 3, 10), horizon=3)
    assert {p["code"] for p in late.picks} == {"000050", "000080"}
    early = evaluate_picks(market, end=dt.date(2025, 3, 3), horizon=3)
    assert len(early.picks) == 6 and {p["date"] for p in early.picks} == {D[0]}
    gap = evaluate_picks(market, start=dt.date(2025, 3, 4), end=dt.date(2025, 3, 7))
    assert gap.picks == [] and gap.curves == [] and gap.versions == ("v1",)
    assert [(s.version, s.sessions, s.picks) for s in gap.by_version] == [("v1", 4, 0)]
    only_v1 = evaluate_picks(market, versions=("v1",))
    assert only_v1.picks == []  # NORESULT rows are not picks
    assert only_v1.by_version[0].sessions == 8


def test_picks_without_forward_bars_stay_open(db):
    """Picks with no stored bar after them (or none at all) are open, never losses."""
    picks = [
        {"code": code, "close": 10000, "strategy": "midterm", "flags": GUIDE}
        for code in ("000010", "000099")
    ]
    add_result(db, D[7], "v3", picks)
    evaluation = evaluate_picks(db, costs=ZERO, horizon=3)  # no bars stored at all
    assert [p["outcome"] for p in evaluation.picks] == ["open", "open"]
    assert evaluation.by_version[0].closed == 0 and evaluation.by_version[0].hit_rate is None
    assert evaluation.data_end is None and evaluation.curves == []
    insert_market(db)  # now D0 … D7 exist, but nothing after D7; 000099 never traded
    picks = by_code(evaluate_picks(db, costs=ZERO, horizon=3, start=dt.date(2025, 3, 12)))
    assert {code: p["outcome"] for code, p in picks.items()} == {
        "000010": "open",
        "000099": "open",
    }
    assert picks["000099"]["mae"] is None and picks["000010"]["return"] is None


def test_pick_on_a_date_without_bars(market):
    """A pick dated on a day with no stored bar (Saturday 2025-03-08, between D4 and D5) starts
    its window on the next stored date; its window has no universe benchmark."""
    pick = {"code": "000010", "close": 9900, "strategy": "midterm", "flags": GUIDE}
    add_result(market, "2025-03-08", "v3", [pick])
    saturday = dt.date(2025, 3, 8)
    (pick,) = evaluate_picks(market, costs=ZERO, horizon=3, start=saturday, end=saturday).picks
    # Sessions 1 … 3 are D5, D6, D7 (9,900 ± 50): the 4-session hold is not over → open.
    assert pick["outcome"] == "open"
    # Closed at D7: 9,900 / 9,900 - 1 = 0.0; MAE 9,850 / 9,900 - 1 = -0.00505…
    assert pick["closed"] and pick["exit_date"] == D[7] and pick["return"] == 0.0
    assert pick["mae"] == pytest.approx(9850 / 9900 - 1)
    assert pick["benchmark_return"] is None and pick["excess_return"] is None


def test_rejects_bad_arguments(market):
    with pytest.raises(BadInput, match=r"--horizon: must be at least 1 session, got 0"):
        evaluate_picks(market, costs=ZERO, horizon=0)
    with pytest.raises(BadInput, match=r"--from 2025-03-10 is after --to 2025-03-03; swap them"):
        evaluate_picks(market, start=dt.date(2025, 3, 10), end=dt.date(2025, 3, 3))


def test_to_record_is_plain(market):
    doc = evaluate_picks(market, costs=ZERO, horizon=3).to_record()
    text = json.dumps(doc, allow_nan=False)  # no NaN, no numpy scalars
    assert json.loads(text)["by_version"][2]["hit_rate"] == pytest.approx(0.4)
    assert doc["data_end"] == D[7] and doc["horizon"] == 3 and doc["from"] is None
