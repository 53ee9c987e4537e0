"""`scanctl inspect CODE`: indicators, market condition and per-version verdicts of one ticker."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import DateOpt, JsonOpt, VersionOpt, WideOpt
from scanctl.cli.output import Column, print_json, print_pairs, print_table

VERDICTS_TABLE = [
    Column("version"),
    Column("matched", drop=3),
    Column("picked"),
    Column("rank"),
    Column("reason", wrap=True),
    Column("diagnostic", wrap=True, drop=1),
    Column("score"),
    Column("label", drop=2),
]


def inspect(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Ticker code, e.g. 005930.")],
    date: DateOpt = None,
    version: VersionOpt = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Why a stock was (not) picked: every indicator, the market condition, each version's
    verdict and run record.

    Example: scanctl inspect 005930 --date 2025-11-28 --version v2,v3
    """
    from scanctl.clock import parse_date
    from scanctl.engines import registry
    from scanctl.engines.selection import versions_for
    from scanctl.reports.inspect import inspect_ticker

    context = app_context(ctx)
    db = context.db(create=False)
    day = parse_date(date, "date") if date else None
    versions = registry.names() if version is None else versions_for(db, version)
    record = inspect_ticker(db, context.settings.run, code, day, versions).record
    if as_json:
        print_json(record)
        return
    _render(record, wide)


def _render(record: dict[str, Any], wide: bool) -> None:
    window = record["window"]
    condition = record["market_condition"]
    print_pairs(
        [
            ("ticker", f"{record['ticker']} {record['name']} ({record['market']})"),
            ("date", record["date"]),
            ("window", f"{window['first']} … {window['last']} ({window['bars']} bars)"),
            ("in universe", record["in_universe"]),
            ("universe", _universe_text(record["universe"])),
            (
                "market",
                f"{condition['status']}, regime {condition['regimes']['final_regime']}, "
                f"sentiment {condition['sentiment']['market_sentiment']}",
            ),
        ],
        title="Ticker",
    )
    indicators = record["indicators"]
    print_table(
        ["indicator", "value"],
        [(name, "-" if value is None else value) for name, value in indicators.items()],
        title="Indicators (bar on the date)",
    )
    rows = []
    for version, summary in record["versions"].items():
        rows.append(_verdict_row(version, summary))
        for sub, sub_summary in summary.get("sub_engines", {}).items():
            rows.append(_verdict_row(f"  {sub}", sub_summary))
    print_table(VERDICTS_TABLE, rows, title="Verdicts", wide=wide)
    from scanctl.reports.run_record import record_summary

    for version, run_record in record.get("run_records", {}).items():
        pairs = [p for p in record_summary(run_record) if p[0] != "market"]
        print_pairs(pairs, title=f"Run record {version} (--json: the whole record)")


def _verdict_row(name: str, summary: dict[str, Any]) -> list[Any]:
    score = summary.get("score")
    return [
        name,
        summary["matched"],
        summary["picked"],
        summary.get("rank") or "-",
        summary.get("reason") or "-",
        summary.get("diagnostic_reason") or "-",
        "-" if score is None else f"{score:.2f}",
        summary.get("score_label") or "-",
    ]


def _universe_text(universe: dict[str, Any]) -> str:
    why = universe.get("why")
    rank = universe.get("market_rank")
    text = "member" if universe.get("in_universe") else f"not a member ({why})"
    return f"{text}, market rank {rank}" if rank else text
