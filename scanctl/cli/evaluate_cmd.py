"""`scanctl evaluate`: forward returns, target/stop outcomes and hit rates of the stored picks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt, VersionOpt
from scanctl.cli.output import message, print_json, print_table

SUMMARY_COLUMNS = [
    "version",
    "strategy",
    "picks",
    "closed",
    "open",
    "target",
    "stop",
    "both",
    "neither",
    "hit rate",
    "mean",
    "median",
    "universe",
    "excess",
    "MAE",
]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f}%"


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
            help="Stored sessions after the pick date at which the return is taken; picks "
            "whose window runs past the stored bars are open, never losses.",
        ),
    ] = 10,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write a PNG: cumulative mean return per version, hit rates (needs matplotlib, "
            "the 'plot' extra).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Forward outcome of the stored picks: N-session return, target/stop race, hit rate.

    Example: scanctl evaluate --version v3 --from 2025-01-02 --horizon 10 --plot eval.png
    """
    from scanctl.clock import parse_date
    from scanctl.engines.registry import filter_versions
    from scanctl.reports.evaluate import evaluate_picks

    versions = filter_versions(version)
    first = parse_date(start, "from") if start else None
    last = parse_date(end, "to") if end else None
    evaluation = evaluate_picks(app_context(ctx).db(), versions, first, last, horizon)
    if plot is not None:
        from scanctl.reports.evaluate_plot import write_plot

        write_plot(evaluation, plot)
        message(f"wrote {plot}")
    if not evaluation.picks:
        span = (f" from {first}" if first else "") + (f" to {last}" if last else "")
        message(f"no stored picks{span}; run `scanctl scan` or widen --from/--to")
    if as_json:
        print_json(evaluation.to_record())
        return
    if not evaluation.picks:
        return
    rows = []
    ordered = [
        summary
        for total in evaluation.by_version
        for summary in [total, *(s for s in evaluation.by_strategy if s.version == total.version)]
    ]
    for summary in ordered:
        counts = summary.outcomes
        rows.append(
            [
                summary.version,
                summary.strategy or "all",
                summary.picks,
                summary.closed,
                summary.open,
                counts["target"],
                counts["stop"],
                counts["both_same_day"],
                counts["neither"],
                "-" if summary.hit_rate is None else f"{100 * summary.hit_rate:.1f}%",
                _pct(summary.mean_return),
                _pct(summary.median_return),
                _pct(summary.benchmark_return),
                _pct(summary.excess_return),
                _pct(summary.mean_mae),
            ]
        )
    picks = evaluation.picks
    print_table(
        SUMMARY_COLUMNS,
        rows,
        title=(
            f"{len(picks)} picks {picks[0]['date']} – {picks[-1]['date']}, "
            f"{evaluation.horizon}-session returns, bars to {evaluation.data_end}"
        ),
    )
