"""A readable summary of a run record (ENGINES.md §8.6, `scanctl.jobs.record.full_record`):
one (label, text) pair per part, for `inspect` on a terminal. ``--json`` prints the record
itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HORIZONS = ("swing", "position", "longterm")


def record_summary(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, text)`` pairs: market, universe, counts, then the version's own block."""
    pairs = []
    condition = record.get("market_condition")
    if condition:
        pairs.append(("market", market_text(condition)))
    universe = record.get("universe")
    if universe:
        pairs.append(("universe", universe_text(universe)))
    counts = record.get("counts")
    if counts:
        pairs.append(
            (
                "counts",
                f"universe {counts['universe_count']}, evaluated {counts['evaluated_count']}, "
                f"candidates {counts['candidates_count']}, picks {counts['matched_count']}",
            )
        )
    if record.get("v1"):
        pairs.append(("v1 fallback", v1_text(record["v1"])))
    if record.get("v2"):
        pairs += v2_pairs(record["v2"])
    if record.get("v3"):
        pairs += v3_pairs(record["v3"])
    return pairs


def market_text(condition: Mapping[str, Any]) -> str:
    if condition.get("status") != "ok":
        reason = condition.get("reason")
        return f"status {condition.get('status')}" + (f" ({reason})" if reason else "")
    regimes = condition.get("regimes") or {}
    sentiment = (condition.get("sentiment") or {}).get("market_sentiment")
    risk = condition.get("short_term_risk") or {}
    return (
        f"ok, final regime {regimes.get('final_regime')}, sentiment {sentiment}, short-term "
        f"risk {risk.get('short_term_risk_label')} ({risk.get('short_term_risk_score')})"
    )


def universe_text(universe: Mapping[str, Any]) -> str:
    sizes, limits, base = universe["sizes"], universe["limits"], universe["base_limits"]
    limit_text = f"limits {_limit(limits['kospi'])}/{_limit(limits['kosdaq'])}"
    if universe.get("resized"):
        limit_text += f" (resized from {_limit(base['kospi'])}/{_limit(base['kosdaq'])})"
    return (
        f"{universe['final_size']} members (KOSPI {sizes['KOSPI']}, KOSDAQ {sizes['KOSDAQ']}), "
        f"{limit_text}, base {universe['base_size']}, unknown security types "
        f"{universe['unknown_security_types']} ({universe['unknown_security_type_members']} "
        "members)"
    )


def v1_text(block: Mapping[str, Any]) -> str:
    matched = ", ".join(str(n) for n in block["matched"])
    if not block.get("fallback_enable", True):
        return f"fallback off: step 0 only, {matched} matched"
    band = f"target {block['target_min']}–{block['target_max']}"
    if block["chosen_step"] is None:
        return f"{band}, no step reached {block['target_min']} (matched per step: {matched})"
    return f"{band}, chosen step {block['chosen_step']} (matched per step: {matched})"


def v2_pairs(block: Mapping[str, Any]) -> list[tuple[str, str]]:
    gate = block["gate"]
    pairs = [("v2 gate", f"{'open' if gate['open'] else 'closed'} ({gate['why']})")]
    if block.get("regime") is None:
        pairs.append(("v2 cut-offs", "none (market condition not ok): first top_k candidates"))
        return pairs
    pairs.append(
        (
            "v2 regime row",
            f"{block['regime']}: cut-offs {_horizons(block['cutoffs'])}, short-term risk "
            f"{block['short_term_risk_score']} (adjust {block['short_term_adjust']})",
        )
    )
    pairs.append(("v2 caps", _horizons(block["caps"])))
    pairs.append(("v2 qualified", _horizons(block["qualified"])))
    pairs.append(("v2 kept", _horizons(block["kept"])))
    return pairs


def v3_pairs(block: Mapping[str, Any]) -> list[tuple[str, str]]:
    routing = block["routing"]
    ran = routing["pullback_ran"]
    pairs = [
        (
            "v3 routing",
            f"final regime {routing['final_regime']}, short-term risk "
            f"{routing['short_term_risk_label']}: pullback "
            + ("runs" if ran else f"does not run ({routing['why_not']})"),
        )
    ]
    for name in ("midterm", "v2_lite"):
        counts = block.get(name)
        if counts is None or (name == "v2_lite" and not counts.get("ran")):
            continue
        text = (
            f"evaluated {counts['evaluated_count']}, candidates {counts['candidates_count']}, "
            f"picks {counts['matched_count']}"
        )
        if counts.get("merged_count"):
            text += f" ({counts['merged_count']} also picked by midterm)"
        pairs.append((f"v3 {name}", text))
    return pairs


def _horizons(values: Mapping[str, Any]) -> str:
    return " / ".join(f"{h} {values[h]}" for h in HORIZONS if h in values)


def _limit(limit: int) -> str:
    return "all" if limit == 0 else str(limit)
