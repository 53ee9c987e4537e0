"""`scanctl evaluate --plot`: one PNG of an `Evaluation` (matplotlib, the optional `plot` extra).

Left: each version's equity curve (`scanctl.reports.evaluate_curves.RULE`, costs included) with
its 95 % bootstrap band shaded, and its scan universe under the same rule dashed. Right: the
mean excess return over the universe of each version and strategy, with its 95 % interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanctl.clock import stored_date
from scanctl.errors import BadInput
from scanctl.reports.evaluate import Evaluation

MISSING = "--plot needs matplotlib: pip install 'scanctl[plot]'"
# The default matplotlib font has no Hangul: the plot labels the v1/v2 strategies in English.
STRATEGY_LABELS = {"스윙": "swing", "포지션": "position", "장기": "long", "관찰": "watch"}
SIZE_PX = (1200, 700)
DPI = 100


def write_plot(evaluation: Evaluation, path: Path | str) -> None:
    """Write the PNG of ``evaluation`` to ``path`` (replacing it).

    Raises
    ------
    BadInput
        matplotlib is not installed, or the folder of ``path`` does not exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise BadInput(f"--plot: folder {str(path.parent)!r} does not exist")
    try:
        # The Agg canvas directly, not pyplot: no GUI backend, no global figure state.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise BadInput(MISSING) from None

    figure = Figure(figsize=(SIZE_PX[0] / DPI, SIZE_PX[1] / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    equity, excess = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    colors = {version: f"C{k}" for k, version in enumerate(evaluation.versions)}
    _plot_equity(equity, evaluation, colors)
    _plot_excess(excess, evaluation, colors)
    picks = evaluation.picks
    span = f"picks {picks[0]['date']} – {picks[-1]['date']}" if picks else "no picks"
    costs = evaluation.costs.round_trip
    figure.suptitle(
        f"scanctl evaluate: {evaluation.horizon}-session holds, {span}, "
        f"net of {100 * costs:.2f}% round-trip costs"
    )
    figure.tight_layout()
    figure.savefig(path, format="png")


def _plot_equity(axes: Any, evaluation: Evaluation, colors: dict[str, str]) -> None:
    for curve in evaluation.curves:
        days = [stored_date(day) for day in curve.dates]
        color = colors[curve.version]
        axes.fill_between(days, curve.equity_low, curve.equity_high, color=color, alpha=0.15)
        axes.plot(days, curve.equity, color=color, label=f"{curve.version} (95% band shaded)")
        axes.plot(
            days,
            curve.universe,
            color=color,
            linestyle="--",
            alpha=0.7,
            label=f"{curve.version} universe",
        )
    axes.axhline(1, color="grey", linewidth=0.8)
    n = evaluation.horizon
    axes.set_title(f"Equity: {n} sleeves, each holds one session's picks {n} sessions")
    axes.set_xlabel("session")
    axes.set_ylabel("value of 1")
    if evaluation.curves:
        axes.legend(loc="best", fontsize=8)
    else:
        axes.text(0.5, 0.5, "no picks", ha="center", va="center", transform=axes.transAxes)
    for label in axes.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _plot_excess(axes: Any, evaluation: Evaluation, colors: dict[str, str]) -> None:
    groups = [
        s
        for total in evaluation.by_version
        for s in [total, *(g for g in evaluation.by_strategy if g.version == total.version)]
        if s.excess_return is not None
    ]
    labels = [
        f"{s.version} {STRATEGY_LABELS.get(s.strategy, s.strategy) if s.strategy else 'all'}"
        for s in groups
    ]
    for k, summary in enumerate(groups):
        value = 100 * summary.excess_return  # type: ignore[operator]
        low, high = summary.excess_return_ci or (summary.excess_return, summary.excess_return)
        axes.errorbar(
            value,
            k,
            xerr=[[value - 100 * low], [100 * high - value]],
            fmt="o",
            color=colors[summary.version],
            capsize=3,
        )
        axes.annotate(
            f"n={summary.closed}",
            (value, k),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set_yticks(range(len(groups)), labels)
    axes.invert_yaxis()
    axes.set_xlabel("% over the scan universe, same windows")
    axes.set_title(f"Mean excess {evaluation.horizon}-session return, 95% CI")
    if not groups:
        axes.text(0.5, 0.5, "no closed picks", ha="center", va="center", transform=axes.transAxes)
