"""`scanctl evaluate`: returns net of costs against the scan universe, with intervals, equity
curves and the target/stop race of the stored picks."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt, VersionOpt
from scanctl.cli.output import message, print_json, print_table

if TYPE_CHECKING:
    from scanctl.reports.evaluate import Evaluation
    from scanctl.reports.evaluate_summary import Summary

WIDTH = 80
RETURN_COLUMNS = [
    "version",
    "group",
    "picks",
    "open",
    "closed",
    "mean",
    "95% CI",
    "excess",
    "95% CI",
]
BENCHMARK_COLUMNS = ["version", "group", "closed", "carried", "universe", "KOSPI", "KOSDAQ", "MAE"]
RACE_COLUMNS = [
    "version",
    "group",
    "picks",
    "target",
    "stop",
    "both",
    "neither",
    "open",
    "none",
    "hit rate",
]
EQUITY_COLUMNS = [
    "version",
    "sessions",
    "with picks",
    "pick rate",
    "equity",
    "95% band",
    "universe",
]


def evaluate(
    ctx: typer.Context,
    version: VersionOpt = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First pick date (YYYY-MM-DD, YYYYMMDD, today).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last pick date (inclusive).")] = None,
    horizon: Annotated[
        int,
        typer.Option(
            "--horizon",
            min=1,
            help="N: stored sessions after the pick date at which the return is taken, the "
            "holding period of the equity curves and the bootstrap's block length; picks "
            "whose window runs past the stored bars are open, never losses.",
        ),
    ] = 10,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write a PNG: equity curves with their 95% bands, hit rates (needs "
            "matplotlib, the 'plot' extra).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Forward outcome of the stored picks: net returns vs the scan universe, 95% intervals,
    equity curves, target/stop race.

    Example: scanctl evaluate --version v3 --from 2025-01-02 --horizon 10 --plot eval.png
    """
    from scanctl.clock import parse_date
    from scanctl.engines.registry import filter_versions
    from scanctl.reports.evaluate import evaluate_picks

    context = app_context(ctx)
    settings = context.settings
    versions = filter_versions(version)
    first = parse_date(start, "from") if start else None
    last = parse_date(end, "to") if end else None
    evaluation = evaluate_picks(
        context.db(),
        versions,
        first,
        last,
        horizon,
        costs=settings.costs,
        universe=settings.run.universe,
        market=settings.run.market,
    )
    if plot is not None:
        from scanctl.reports.evaluate_plot import write_plot

        write_plot(evaluation, plot)
        message(f"wrote {plot}")
    if not evaluation.picks:
        span = (f" from {first}" if first else "") + (f" to {last}" if last else "")
        message(f"no stored picks{span}; run `scanctl scan` or widen --from/--to")
    if as_json:
        print_json(evaluation.to_record())
    elif evaluation.picks:
        print_evaluation(evaluation)


def _pct(value: float | None, digits: int = 2) -> str:
    """``+1.23`` (percent); a value that rounds to zero is ``+0.00``, never ``-0.00``."""
    if value is None:
        return "-"
    text = f"{100 * value:+.{digits}f}"
    return f"{0:+.{digits}f}" if float(text) == 0 else text


def _interval(bounds: tuple[float, float] | None) -> str:
    return "-" if bounds is None else f"{_pct(bounds[0], 1)}..{_pct(bounds[1], 1)}"


def _title(text: str) -> str:
    return "\n".join(textwrap.wrap(text, WIDTH))


def _rows(evaluation: Evaluation) -> list[Summary]:
    """Per version: all, its origins, its strategies."""
    return [
        summary
        for total in evaluation.by_version
        for summary in [
            total,
            *(s for s in evaluation.by_origin if s.version == total.version),
            *(s for s in evaluation.by_strategy if s.version == total.version),
        ]
    ]


def _group(summary: Summary) -> str:
    return summary.strategy or summary.origin or "all"


def print_evaluation(evaluation: Evaluation) -> None:
    """The four tables of the terminal output, each at most 80 columns wide."""
    picks, costs, boot = evaluation.picks, evaluation.costs, evaluation.bootstrap
    n = evaluation.horizon
    rows = _rows(evaluation)
    print_table(
        RETURN_COLUMNS,
        [
            [s.version, _group(s), s.picks, s.open, s.closed, _pct(s.mean_return)]
            + [_interval(s.mean_return_ci), _pct(s.excess_return), _interval(s.excess_return_ci)]
            for s in rows
        ],
        title=_title(
            f"{len(picks)} picks {picks[0]['date']} – {picks[-1]['date']}, bars to "
            f"{evaluation.data_end}. {n}-session returns in %, net of "
            f"{100 * costs.round_trip:.2f}% round-trip costs (commission "
            f"{100 * costs.commission_rate:.3f}% a side, tax {100 * costs.sell_tax_rate:.2f}% "
            f"on sales); excess = net - the scan universe's return over the same windows; "
            f"open: the {n} sessions have not elapsed, not in the returns. 95% CI: circular "
            f"block bootstrap over sessions, blocks of {boot.block_length} sessions, "
            f"{boot.resamples:,} resamples, seed {boot.seed}."
        ),
    )
    sys.stdout.write("\n")
    universe, indexes = evaluation.universe, evaluation.indexes
    sources = "; ".join(
        f"{i.name}: {'none' if i.series is None else f'{i.kind} {i.series}'}" for i in indexes
    )
    print_table(
        BENCHMARK_COLUMNS,
        [
            [s.version, _group(s), s.closed, s.carried, _pct(s.benchmark_return)]
            + [_pct(s.kospi_return), _pct(s.kosdaq_return), _pct(s.mean_mae)]
            for s in rows
        ],
        title=_title(
            f"Benchmarks over the same windows, gross, in % ({sources}). carried: no bar on "
            f"the exit session, the last close is used, for picks and universe members alike "
            f"(universe: {universe['carried']:,} of {universe['member_windows']:,} member "
            f"windows). MAE: mean maximum adverse excursion."
        ),
    )
    sys.stdout.write("\n")
    print_table(RACE_COLUMNS, [_race_row(s) for s in rows], title=_title(RACE_TITLE))
    sys.stdout.write("\n")
    curves = {c.version: c for c in evaluation.curves}
    print_table(
        EQUITY_COLUMNS,
        [_equity_row(s, curves.get(s.version)) for s in evaluation.by_version],
        title=_title(
            f"Equity of 1 at the first pick date, to {evaluation.data_end}: {n} sleeves; each "
            f"session one sleeve sells what it bought {n} sessions earlier and buys that "
            "session's picks, equal weight, at the close (cash without picks), costs "
            "included. universe: the same rule on the scan universe, same sessions, gross. "
            "pick rate: sessions with picks / sessions with a stored result."
        ),
    )


RACE_TITLE = (
    "Target/stop race within each pick's holding period (its own guidance): target, stop, "
    "both on one bar (a stop), neither, open (not decided yet), none (no guidance); "
    "hit rate = target / decided."
)


def _race_row(summary: Summary) -> list[Any]:
    counts = summary.outcomes
    return [
        summary.version,
        _group(summary),
        summary.picks,
        counts["target"],
        counts["stop"],
        counts["both_same_day"],
        counts["neither"],
        counts["open"],
        counts["no_guidance"],
        "-" if summary.hit_rate is None else f"{100 * summary.hit_rate:.1f}%",
    ]


def _equity_row(summary: Summary, curve: Any) -> list[Any]:
    rate = summary.pick_rate
    row = [
        summary.version,
        summary.sessions,
        summary.sessions_with_picks,
        "-" if rate is None else f"{100 * rate:.1f}%",
    ]
    if curve is None or not len(curve.equity):
        return [*row, "-", "-", "-"]
    band = f"{curve.equity_low[-1]:.2f}..{curve.equity_high[-1]:.2f}"
    return [*row, f"{curve.equity[-1]:.3f}", band, f"{curve.universe[-1]:.3f}"]
