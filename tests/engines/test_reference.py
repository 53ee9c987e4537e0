"""Engines v1, v2 and v3 against the independent reference of `tests/engines/reference.py` (R17).

The engines run through the real pipeline (`load_market_data`, `prepare_inputs`, `run_engine`,
default parameters); the reference reads the same store with plain SQL and recomputes the
universe, every indicator and every engine per ticker in pure Python, taking only the market
condition object from the pipeline (it is tested apart). Picks (code, rank, order, strategy,
score to 1e-9 relative) and every ticker's reason code must agree, for v1, v2 and both v3
sub-engines; so must the universe, v1's chosen step, v2's gate, v3's routing and the §7.4
storage order of v3.

Stores: demo markets (seeds 1 and 5), seed 1 again with a doctored ticker master (excluded
keywords in names; managed, halted, KONEX, unknown-type and nameless stocks), and the real KRX
data of ../shared/data/krx (skipped when absent). The dates are picked to reach the rare paths;
`test_demo_cases_cover_the_rare_paths` fails if the demo generator drifts away from them.
`test_condition_variants_agree` swaps the condition object of a real run for variants (regimes,
short-term risk, sentiment, status) to reach the gate, cut-off and routing rows no date reaches.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import shutil
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scanctl.config import Config
from scanctl.engines.base import EngineResult
from scanctl.engines.params import RunParams
from scanctl.jobs.prepare import PreparedRun, load_market_data, prepare_inputs, run_engine
from scanctl.market.condition import Thresholds
from scanctl.providers.demo import install_demo_market
from scanctl.store.db import open_db
from tests.engines import reference as ref

NOW = "2025-11-28T18:00:00"  # the pinned clock of tests/conftest.py: the demo ends on this day
PARAMS = RunParams.from_config(Config())
VERSIONS = ("v1", "v2", "v3")
LOOKBACK = max(PARAMS.lookback(version) for version in VERSIONS)
SUBS = {"v1": ("v1", 0), "v2": ("v2", 0), "midterm": ("v3", 0), "v2_lite": ("v3", 1)}

# Demo dates and what they reach (seed 1 / seed 5 of install_demo_market(300 tickers, 260
# sessions)); the coverage test checks the claims.
DEMO_CASES = {
    "demo1": (
        "2024-12-03",  # status unknown (< 65 proxy bars), no v3 history
        "2025-01-09",  # status unknown, v1 picks and not_in_top_k
        "2025-03-07",  # final_regime crash, short-term risk 3: v2 gate closed, no pullback
        "2025-04-04",  # bear sentiment, short-term risk 2 (cut-off adjust 1.0, caps row 2)
        "2025-05-07",  # final_regime bear: v2 gate closed, v1 bear band
        "2025-05-14",  # bear band: v1 picks 3 of 5 matches
        "2025-05-16",  # bear band, v1 step 1
        "2025-07-04",  # v1 fallback exhausted
        "2025-07-17",  # crash sentiment, short-term risk 3
        "2025-09-01",  # v1 step 2; pullback routed
        "2025-11-28",  # the last session
    ),
    "demo5": (
        "2025-03-13",  # short-term risk 1, v1 step 1
        "2025-04-11",  # divergence kospi_up_kosdaq_down (universe 150 / 50), v1 picks
        "2025-04-23",  # divergence with final_regime bull
        "2025-06-05",  # divergence kospi_down_kosdaq_up, v1 picks
        "2025-06-09",  # divergence kospi_down_kosdaq_up
    ),
    "demo1-doctored": ("2025-09-01", "2025-11-27"),
}
REAL_DATES = (
    "2025-09-01",  # bear sentiment, short-term risk 1
    "2025-09-30",  # 10 pullback picks
    "2025-10-01",  # final_regime bull, v1 picks
    "2025-11-11",  # v1 step 2
    "2025-11-19",  # final_regime crash with longterm bull: v2 open, crash cut-offs
    "2025-11-28",  # divergence kospi_down_kosdaq_up, short-term risk 2
)
NEUTRAL_RISK0 = {"short_term_risk_score": 0, "short_term_risk_label": "normal"}
VARIANTS: tuple[Mapping[str, Any], ...] = (
    {"status": "unknown", "reason": "kosdaq_proxy_missing"},
    {"final_regime": "crash", "longterm_regime": "bull", **NEUTRAL_RISK0},
    {"final_regime": "crash", "longterm_regime": "neutral", **NEUTRAL_RISK0},
    {"final_regime": "bear", "longterm_regime": "bull", **NEUTRAL_RISK0},
    {"final_regime": "bull", "short_term_risk_score": 1, "short_term_risk_label": "normal"},
    {"final_regime": "neutral", "short_term_risk_score": 2, "short_term_risk_label": "elevated"},
    {"final_regime": "neutral", "short_term_risk_score": 3, "short_term_risk_label": "stressed"},
    {"final_regime": "neutral", "market_sentiment": "bull", **NEUTRAL_RISK0},
    {"final_regime": "neutral", "market_sentiment": "neutral", "global_trend_score": 1.5},
    {"final_regime": "neutral", "thresholds": Thresholds(40.0, 2, -5.0, 1.3, 0.03, 0.04)},
    {"final_regime": "neutral", "thresholds": Thresholds(65.0, 1, 999.0, 999.0, 0.001, 0.001)},
)
DOCTORED_WORDS = ("채권", "DOWN", "3X", "금리", "레버리지", "BEAR", "회사채", "KRX금현물")


# --------------------------------------------------------------------------- stores


@dataclass
class Store:
    """A store file and its content read for the reference: master rows and valid bars."""

    path: Path
    master: dict[str, tuple]
    bars: dict[str, list[ref.Bar]]

    @classmethod
    def read(cls, path: Path) -> Store:
        conn = sqlite3.connect(path)
        try:
            master = {
                row[0]: row
                for row in conn.execute(
                    "SELECT code, name, market, security_type, managed, halted FROM tickers"
                )
            }
            bars: dict[str, list[ref.Bar]] = {code: [] for code in master}
            query = "SELECT code, date, open, high, low, close, volume, value FROM bars"
            for code, day, *fields in conn.execute(query + " ORDER BY code, date"):
                bar = ref.valid_bar(day, *fields)
                bars.setdefault(code, [])
                if bar is not None:
                    bars[code].append(bar)
        finally:
            conn.close()
        return cls(path, master, bars)

    def tickers(self, day: str) -> list[ref.Ticker]:
        """Every known code with its §0.4 window of D (the last 220 valid bars ≤ D)."""
        out = []
        for code, bars in sorted(self.bars.items()):
            end = bisect.bisect_right([bar.date for bar in bars], day)
            window = bars[max(0, end - ref.LOOKBACK) : end]
            row = self.master.get(code)
            if row is None:
                out.append(ref.Ticker(code, code, None, None, False, False, window))
            else:
                _, name, market, kind, managed, halted = row
                flags = (bool(managed), bool(halted))
                out.append(ref.Ticker(code, name or code, market, kind, *flags, window))
        return out


def _install_demo(path: Path, seed: int) -> None:
    db = open_db(path)
    install_demo_market(db, n_tickers=300, n_sessions=260, seed=seed)
    db.conn.close()


def _doctor(path: Path) -> None:
    """Excluded keywords in a quarter of the stock names; a few managed, halted, KONEX,
    unknown-type and nameless stocks."""
    conn = sqlite3.connect(path)
    query = "SELECT code FROM tickers WHERE security_type = 'stock' ORDER BY code"
    codes = [row[0] for row in conn.execute(query)]
    changes = (
        (23, 1, "security_type = NULL"),
        (29, 2, "managed = 1"),
        (31, 3, "halted = 1"),
        (37, 4, "market = 'KONEX'"),
        (41, 5, "name = NULL"),
    )
    for i, code in enumerate(codes):
        if i % 4 == 0:
            word = DOCTORED_WORDS[(i // 4) % len(DOCTORED_WORDS)]
            conn.execute("UPDATE tickers SET name = name || ' ' || ? WHERE code = ?", (word, code))
            continue
        for every, at, assignment in changes:
            if i % every == at:
                conn.execute(f"UPDATE tickers SET {assignment} WHERE code = ?", (code,))
                break
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_seed1_template) -> dict[str, Any]:
    """Module cache: the demo stores (built now; seed 1 is the session's, copied), the real
    store, the cases and the reference's per-ticker series (built lazily)."""
    folder = tmp_path_factory.mktemp("reference")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SCANCTL_NOW", NOW)
    try:
        _install_demo(folder / "demo5.db", 5)
    finally:
        monkeypatch.undo()
    for name in ("demo1", "demo1-doctored"):
        shutil.copy(demo_seed1_template, folder / f"{name}.db")  # install_demo_market(300, 260, 1)
    _doctor(folder / "demo1-doctored.db")
    stores = {name: Store.read(folder / f"{name}.db") for name in DEMO_CASES}
    return {"folder": folder, "stores": stores, "cases": {}, "series": {}}


def _real_store(built: dict[str, Any], real_krx_import: tuple[Path, Any]) -> Store:
    """The real data (imported once per session by tests/conftest.py), copied here."""
    if "real" not in built["stores"]:
        path = built["folder"] / "real.db"
        shutil.copy(real_krx_import[0], path)
        built["stores"]["real"] = Store.read(path)
    return built["stores"]["real"]


# --------------------------------------------------------------------------- running a case


@dataclass
class Case:
    label: str
    prepared: PreparedRun
    results: dict[str, EngineResult]
    expected: ref.ScanRef


def _with_condition(prepared: PreparedRun, changes: Mapping[str, Any]) -> PreparedRun:
    condition = dataclasses.replace(prepared.condition, **changes)
    inputs = {
        lookback: dataclasses.replace(inp, condition=condition)
        for lookback, inp in prepared.inputs.items()
    }
    return dataclasses.replace(prepared, inputs=inputs, condition=condition)


def run_case(built: dict[str, Any], store: str, day: str, variant: int | None = None) -> Case:
    key = (store, day, variant)
    if key not in built["cases"]:
        data = built["stores"][store]
        db = open_db(data.path)
        date = dt.date.fromisoformat(day)
        try:
            market = load_market_data(db, date, LOOKBACK, PARAMS.market)
            prepared = prepare_inputs(market, date, PARAMS, VERSIONS, also=None)
        finally:
            db.conn.close()
        if variant is not None:
            prepared = _with_condition(prepared, VARIANTS[variant])
        results = {version: run_engine(version, prepared, PARAMS) for version in VERSIONS}
        memo = built["series"].setdefault((store, day), {})  # one per window, not per variant
        expected = ref.reference_scan(data.tickers(day), day, prepared.condition, memo)
        label = f"{store} {day}" + ("" if variant is None else f" variant {VARIANTS[variant]}")
        built["cases"][key] = Case(label, prepared, results, expected)
    return built["cases"][key]


def assert_agree(case: Case) -> None:
    """Universe, picks, reasons and the run-record decisions of the engines = the reference."""
    inp = case.prepared.inputs[LOOKBACK]
    expected, label = case.expected, case.label
    codes = [str(code) for code in inp.codes]
    members = {code for code, member in zip(codes, inp.universe.member, strict=True) if member}
    assert (inp.universe.kospi_limit, inp.universe.kosdaq_limit) == expected.limits, label
    assert members == expected.final.member, f"{label}: universe"

    for name, (version, position) in SUBS.items():
        sub, want = case.results[version].subs[position], expected.outcomes[name]
        assert sub.name == name
        got_picks = [(p.ticker, p.rank, p.strategy) for p in sub.picks]
        want_picks = [(p.code, p.rank, p.strategy) for p in want.picks]
        assert got_picks == want_picks, f"{label}: {name} picks"
        for got, pick in zip(sub.picks, want.picks, strict=True):
            if pick.score is None:
                assert got.score is None, f"{label}: {name} {pick.code} score"
            else:
                assert math.isclose(got.score, pick.score, rel_tol=1e-9, abs_tol=1e-12), (
                    f"{label}: {name} {pick.code} score {got.score} != {pick.score}"
                )
        reasons = dict(zip(codes, sub.reasons.tolist(), strict=True))
        differ = {
            code: (reason, want.reasons[code])
            for code, reason in reasons.items()
            if reason != want.reasons[code]
        }
        assert not differ, f"{label}: {name} reasons (engine, reference): {differ}"
        # codes the engine does not see have no bar in its panel, so none on D
        unseen = {want.reasons[code] for code in set(want.reasons) - set(reasons)}
        assert unseen <= {"no_bar_on_date"}, f"{label}: {name} {unseen}"

    records = {version: case.results[version].run_record for version in VERSIONS}
    assert records["v1"]["v1"]["chosen_step"] == expected.outcomes["v1"].extra["chosen_step"]
    assert records["v2"]["v2"]["gate"]["open"] == expected.outcomes["v2"].extra["gate"]
    routed = expected.outcomes["v2_lite"].extra["routed"]
    assert records["v3"]["v3"]["routing"]["pullback_ran"] == routed

    # §7.4: midterm picks by rank, then the pullback picks not picked by midterm
    midterm = [pick.code for pick in expected.outcomes["midterm"].picks]
    pullback = [pick.code for pick in expected.outcomes["v2_lite"].picks]
    stored = [(pick.ticker, pick.sub_engine) for pick in case.results["v3"].picks]
    want_stored = [(code, "midterm") for code in midterm]
    want_stored += [(code, "v2_lite") for code in pullback if code not in midterm]
    assert stored == want_stored, f"{label}: v3 storage order"
    for pick in case.results["v3"].picks:
        both = pick.ticker in midterm and pick.ticker in pullback
        subs = ["midterm", "v2_lite"] if both else [pick.sub_engine]
        assert pick.flags["sub_engines"] == subs, f"{label}: {pick.ticker}"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    ("store", "day"), [(store, day) for store, days in DEMO_CASES.items() for day in days]
)
def test_demo_agrees(built, store, day):
    assert_agree(run_case(built, store, day))


@pytest.mark.parametrize("day", REAL_DATES)
def test_real_data_agrees(built, real_krx_import, day):
    _real_store(built, real_krx_import)
    assert_agree(run_case(built, "real", day))


@pytest.mark.parametrize(("store", "day"), [("demo1", "2025-09-01"), ("real", "2025-10-01")])
def test_condition_variants_agree(built, request, store, day):
    if store == "real":
        _real_store(built, request.getfixturevalue("real_krx_import"))
    assert not run_case(built, store, day).prepared.condition.market_divergence
    for variant in range(len(VARIANTS)):
        assert_agree(run_case(built, store, day, variant))


def test_demo_cases_cover_the_rare_paths(built):
    seen: dict[str, set] = {key: set() for key in ("status", "regime", "divergence", "risk")}
    seen.update({key: set() for key in ("v1_step", "v2_gate", "routed", "why")})
    reasons: dict[str, set] = {name: set() for name in SUBS}
    for store, days in DEMO_CASES.items():
        for day in days:
            case = run_case(built, store, day)
            condition, outcomes = case.prepared.condition, case.expected.outcomes
            seen["status"].add(condition.status)
            seen["regime"].add(condition.final_regime)
            seen["divergence"].add(condition.divergence_type)
            seen["risk"].add(condition.short_term_risk_score)
            seen["v1_step"].add(outcomes["v1"].extra["chosen_step"])
            seen["v2_gate"].add(outcomes["v2"].extra["gate"])
            seen["routed"].add(outcomes["v2_lite"].extra["routed"])
            seen["why"].update(case.expected.final.why.values())
            for name, outcome in outcomes.items():
                reasons[name].update(outcome.reasons.values())
    assert seen["status"] == {"ok", "unknown"}
    assert {"bear", "crash", "neutral", "bull"} <= seen["regime"]
    assert {"kospi_up_kosdaq_down", "kospi_down_kosdaq_up"} <= seen["divergence"]
    assert {0, 1, 2, 3} <= seen["risk"]
    assert seen["v1_step"] == {None, 0, 1, 2}
    assert seen["v2_gate"] == seen["routed"] == {True, False}
    assert {"market", "security_type", "managed", "halted", "rank"} <= seen["why"]
    common = {None, "no_bar_on_date", "insufficient_history", "not_in_universe", "liquidity"}
    assert common | {"name_filter", "fallback_exhausted", "not_in_top_k", "risk"} <= reasons["v1"]
    assert common | {"name_filter", "regime_gate", "cutoff", "horizon_cap"} <= reasons["v2"]
    assert common | {"not_in_top_k", "trend_alignment", "return_band"} <= reasons["midterm"]
    assert common | {"regime_gate", "ema20_touch", "reversal_bar"} <= reasons["v2_lite"]


def test_window_is_the_last_220_bars_across_long_gaps(built, real_krx_import):
    # 001080 has no bar from 2023-09-26 to 2024-09-20: 206 bars ≤ 2024-12-17, 59 of them in the
    # lookback + margin dates read first; `complete_history` adds the older ones
    _real_store(built, real_krx_import)
    case = run_case(built, "real", "2024-12-17")
    window = case.prepared.inputs[LOOKBACK].window
    bars = dict(zip(window.codes.tolist(), window.n_bars.tolist(), strict=True))
    expected = {
        ticker.code: len(ticker.bars) for ticker in built["stores"]["real"].tickers("2024-12-17")
    }
    assert bars["001080"] == expected["001080"] == 206
