"""A toy engine for the registry test: the universe members whose close rose on the day, the
``top_n`` largest rises first. It shows what a new engine needs: `Params` and `compute`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from scanctl.config import Section, setting
from scanctl.engines.base import (
    Check,
    CheckList,
    EngineInput,
    EngineResult,
    Pick,
    SubResult,
    computable,
    plain,
    pre_reasons,
    ranked,
)

NAME = "toy"


@dataclass(frozen=True)
class Params(Section):
    """``[engines.toy]``."""

    SECTION: ClassVar[str] = "engines.toy"

    lookback: int = setting(30, "Window length in sessions.", ge=21)
    top_n: int = setting(2, "Picks per day.", ge=1)


def compute(inp: EngineInput, params: Params) -> EngineResult:
    """Pick the ``top_n`` largest day changes among members that rose."""
    change = np.asarray(inp.scalars.change_rate, dtype=float)
    rising = Check("not_rising", np.nan_to_num(change) > 0, {"change_rate": change}, {"min": 0})
    checks = CheckList([rising])
    evaluated = computable(inp) & inp.universe.member
    matched = checks.all_passed(evaluated)
    order = ranked(change, inp, matched)[: params.top_n]
    picks = tuple(_pick(inp, int(i), rank) for rank, i in enumerate(order, start=1))
    reasons = pre_reasons(inp)
    reasons[evaluated] = checks.first_failure(evaluated)[evaluated]
    reasons[matched] = "not_in_top_k"
    reasons[order] = None
    sub = SubResult(NAME, picks, reasons, evaluated, matched, checks, reasons.copy())
    counts = {"universe_count": int(inp.universe.member.sum()), "matched_count": len(picks)}
    return EngineResult(NAME, picks, (sub,), {"counts": counts}, params.to_record())


def _pick(inp: EngineInput, i: int, rank: int) -> Pick:
    return Pick(
        ticker=str(inp.codes[i]),
        name=str(inp.master.names[i]),
        market=inp.master.markets[i],
        engine=NAME,
        sub_engine=None,
        rank=rank,
        score=plain(inp.scalars.change_rate[i]),
        score_label="상승",
        strategy="rise",
        close=int(inp.window.close[-1, i]),
        volume=int(inp.window.volume[-1, i]),
        change_rate=plain(inp.scalars.change_rate[i]),
        traded_value=plain(inp.universe.traded_value[i]),
        indicators={},
        trend={},
        flags={"trading_strategy": "rise"},
        details={},
    )
