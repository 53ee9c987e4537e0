"""The terminal summary of a run record (`inspect`): one line per part, both sides of each
branch (v1 step chosen or not, v2 gate open or closed, v3 pullback routed or not)."""

from scanctl.reports.run_record import record_summary

UNIVERSE = {
    "limits": {"kospi": 150, "kosdaq": 50},
    "base_limits": {"kospi": 100, "kosdaq": 100},
    "resized": True,
    "base_size": 200,
    "final_size": 200,
    "sizes": {"KOSPI": 150, "KOSDAQ": 50},
    "unknown_security_types": 3,
    "unknown_security_type_members": 1,
    "members": [],
}
COUNTS = {"universe_count": 200, "evaluated_count": 190, "candidates_count": 7, "matched_count": 5}


def summary(**parts):
    return dict(record_summary({"universe": UNIVERSE, "counts": COUNTS, **parts}))


def test_universe_and_counts():
    pairs = summary()
    assert pairs["universe"] == (
        "200 members (KOSPI 150, KOSDAQ 50), limits 150/50 (resized from 100/100), base 200, "
        "unknown security types 3 (1 members)"
    )
    assert pairs["counts"] == "universe 200, evaluated 190, candidates 7, picks 5"
    whole = {**UNIVERSE, "limits": {"kospi": 0, "kosdaq": 0}, "resized": False}
    assert "limits all/all, base" in dict(record_summary({"universe": whole}))["universe"]


def test_v1_chosen_step_none_and_fallback_off():
    block = {"fallback_enable": True, "target_min": 3, "target_max": 5, "matched": [1, 4]}
    assert summary(v1={**block, "chosen_step": 1})["v1 fallback"] == (
        "target 3–5, chosen step 1 (matched per step: 1, 4)"
    )
    assert summary(v1={**block, "chosen_step": None})["v1 fallback"] == (
        "target 3–5, no step reached 3 (matched per step: 1, 4)"
    )
    off = {"fallback_enable": False, "target_min": None, "target_max": None, "chosen_step": 0}
    assert (
        summary(v1={**off, "matched": [2]})["v1 fallback"] == "fallback off: step 0 only, 2 matched"
    )


def test_v2_gate_open_closed_and_no_cutoffs():
    opened = {
        "gate": {"open": True, "why": "regime_ok"},
        "regime": "neutral",
        "cutoffs": {"swing": 6.0, "position": 4.5, "longterm": 6.0},
        "caps": {"swing": 15, "position": 10, "longterm": 20},
        "qualified": {"swing": 3, "position": 9, "longterm": 2},
        "kept": {"swing": 3, "position": 9, "longterm": 2},
        "short_term_risk_score": 1,
        "short_term_adjust": 0.5,
    }
    pairs = summary(v2=opened)
    assert pairs["v2 gate"] == "open (regime_ok)"
    assert pairs["v2 regime row"] == (
        "neutral: cut-offs swing 6.0 / position 4.5 / longterm 6.0, short-term risk 1 (adjust 0.5)"
    )
    assert pairs["v2 caps"] == "swing 15 / position 10 / longterm 20"
    assert pairs["v2 kept"] == "swing 3 / position 9 / longterm 2"
    closed = {**opened, "gate": {"open": False, "why": "bear"}, "regime": "bear"}
    assert summary(v2=closed)["v2 gate"] == "closed (bear)"
    unknown = {"gate": {"open": True, "why": "status_not_ok"}, "regime": None}
    assert "none (market condition not ok)" in summary(v2=unknown)["v2 cut-offs"]


def test_v3_routing_both_ways():
    counts = {"evaluated_count": 190, "candidates_count": 30, "matched_count": 10}
    routed = {
        "routing": {
            "final_regime": "neutral",
            "short_term_risk_label": "normal",
            "pullback_ran": True,
            "why_not": None,
        },
        "midterm": counts,
        "v2_lite": {"ran": True, **counts, "matched_count": 2, "merged_count": 1},
    }
    pairs = summary(v3=routed)
    assert pairs["v3 routing"] == "final regime neutral, short-term risk normal: pullback runs"
    assert pairs["v3 midterm"] == "evaluated 190, candidates 30, picks 10"
    assert pairs["v3 v2_lite"] == (
        "evaluated 190, candidates 30, picks 2 (1 also picked by midterm)"
    )
    gated = {
        **routed,
        "routing": {**routed["routing"], "pullback_ran": False, "why_not": "final_regime=bull"},
        "v2_lite": {"ran": False, **counts},
    }
    pairs = summary(v3=gated)
    assert pairs["v3 routing"].endswith("pullback does not run (final_regime=bull)")
    assert "v3 v2_lite" not in pairs


def test_market_line():
    condition = {
        "status": "ok",
        "regimes": {"final_regime": "bear"},
        "sentiment": {"market_sentiment": "crash"},
        "short_term_risk": {"short_term_risk_label": "stressed", "short_term_risk_score": 3},
    }
    assert dict(record_summary({"market_condition": condition}))["market"] == (
        "ok, final regime bear, sentiment crash, short-term risk stressed (3)"
    )
    unknown = {"status": "unknown", "reason": "kospi_proxy_missing"}
    assert dict(record_summary({"market_condition": unknown}))["market"] == (
        "status unknown (kospi_proxy_missing)"
    )
