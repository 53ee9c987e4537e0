"""`scanctl evaluate --plot`: one PNG of an `Evaluation` (matplotlib, the optional `plot` extra).

Left: the cumulative mean N-session return per version — at each pick date, the mean return of
every closed pick dated on or before it — with the universe benchmark of the same picks dashed.
Right: the hit rate (targets / decided races) per version and strategy, with the count of
decided races on each bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanctl.clock import stored_date
from scanctl.errors import BadInput
from scanctl.reports.evaluate import DECIDED, Evaluation

MISSING = "--plot needs matplotlib: pip install 'scanctl[plot]'"
# The default matplotlib font has no Hangul: the plot labels the v1/v2 strategies in English.
STRATEGY_LABELS = {"스윙": "swing", "포지션": "position", "장기": "long", "관찰": "watch"}
SIZE_PX = (1200, 700)
DPI = 100


def write_plot(evaluation: Evaluation, path: Path) -> None:
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
    returns, hits = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    colors = {version: f"C{k}" for k, version in enumerate(evaluation.versions)}
    _plot_returns(returns, evaluation, colors)
    _plot_hit_rates(hits, evaluation, colors)
    picks = evaluation.picks
    span = f"picks {picks[0]['date']} – {picks[-1]['date']}" if picks else "no picks"
    figure.suptitle(f"scanctl evaluate: {evaluation.horizon}-session outcomes, {span}")
    figure.tight_layout()
    figure.savefig(path, format="png")


def _cumulative_means(rows: list[dict[str, Any]], key: str) -> list[float | None]:
    """Running mean of ``key`` weighted by each date's closed picks."""
    total, count, out = 0.0, 0, []
    for row in rows:
        if row[key] is not None:
            total += row[key] * row["closed"]
            count += row["closed"]
        out.append(total / count if count else None)
    return out


def _plot_returns(axes: Any, evaluation: Evaluation, colors: dict[str, str]) -> None:
    for version in evaluation.versions:
        rows = [row for row in evaluation.by_date if row["version"] == version]
        if not rows:
            continue
        days = [stored_date(row["date"]) for row in rows]
        pct = [_pct(v) for v in _cumulative_means(rows, "mean_return")]
        marker = "o" if len(days) < 30 else None  # a line of one date is a dot
        axes.plot(days, pct, label=version, color=colors[version], marker=marker)
        bench = [_pct(v) for v in _cumulative_means(rows, "benchmark_return")]
        axes.plot(days, bench, linestyle="--", color=colors[version], alpha=0.6, marker=marker)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_title(f"Cumulative mean {evaluation.horizon}-session return (dashed: universe)")
    axes.set_xlabel("pick date")
    axes.set_ylabel("%")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best")
    else:
        axes.text(0.5, 0.5, "no closed picks", ha="center", va="center", transform=axes.transAxes)
    for label in axes.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _plot_hit_rates(axes: Any, evaluation: Evaluation, colors: dict[str, str]) -> None:
    groups = [s for s in evaluation.by_strategy if s.hit_rate is not None]
    labels = [f"{s.version} {STRATEGY_LABELS.get(s.strategy, s.strategy)}" for s in groups]
    rates = [100 * s.hit_rate for s in groups if s.hit_rate is not None]
    bars = axes.bar(range(len(groups)), rates, color=[colors[s.version] for s in groups])
    for bar, summary in zip(bars, groups, strict=True):
        decided = sum(summary.outcomes[name] for name in DECIDED)
        axes.annotate(
            f"n={decided}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_xticks(range(len(groups)), labels, rotation=30, ha="right")
    axes.set_ylim(0, 100)
    axes.set_ylabel("% of decided picks")
    axes.set_title("Hit rate: target before stop")
    if not groups:
        axes.text(0.5, 0.5, "no decided picks", ha="center", va="center", transform=axes.transAxes)


def _pct(value: float | None) -> float:
    return float("nan") if value is None else 100 * value
