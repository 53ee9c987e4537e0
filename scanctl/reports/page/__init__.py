"""`scanctl report`: the daily page, one self-contained HTML file for subscribers.

Per version it shows the ranked picks (code, name, score, label, strategy, close, change), a
chart of each pick's last 60 sessions with the lines its engine reads, the near misses and the
run record; above them the market condition, below them the track record (`track`). Labels are
Korean, in the words of the daily notification.

The file makes no request: styles, the one small script (sortable tables) and every chart
(inline SVG, `svg`) are in it, and its Content-Security-Policy forbids loading anything else.
It is rendered by Jinja2 with autoescaping on, so stored names and texts are escaped wherever
they appear. `render_page` builds the text; `write_page` replaces the output file atomically,
so a web server never serves half a page.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from scanctl.clock import now_kst, stored_date
from scanctl.engines.params import RunParams
from scanctl.errors import BadInput
from scanctl.notify.message import korean_date
from scanctl.reports.page import svg, texts
from scanctl.reports.page.track import TrackRecord, track_record
from scanctl.reports.page.views import VersionView, version_views
from scanctl.store.picks import latest_pick_date

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class PageView:
    """Everything the template reads."""

    date: str
    date_ko: str
    generated_at: str
    headline_count: int
    market: tuple[tuple[str, str], ...]
    versions: tuple[VersionView, ...]
    track: TrackRecord
    track_chart: svg.Chart | None


def page_view(db: sqlite_utils.Database, params: RunParams, day: dt.date | None) -> PageView:
    """The page of ``day`` (None: the latest date with stored picks).

    Raises
    ------
    BadInput
        Nothing is stored for the date (no picks and no run).
    """
    if day is None:
        latest = latest_pick_date(db)
        if latest is None:
            raise BadInput("no stored picks; run `scanctl scan` first")
        day = stored_date(latest)
    versions, condition = version_views(db, params, day)
    if not versions:
        raise BadInput(
            f"no stored picks or runs for {day.isoformat()}; run `scanctl scan --date "
            f"{day.isoformat()}` (or `backfill`) first"
        )
    track = track_record(db, day, [v.version for v in versions], params)
    colors = {v.version: v.color for v in versions}
    series = [
        svg.Series(
            label=curve.version,
            color=colors.get(curve.version, "#495057"),
            dates=curve.dates,
            values=curve.values,
            low=curve.low,
            high=curve.high,
            benchmark=curve.benchmark,
        )
        for curve in track.curves
    ]
    ok = [v.matched_count for v in versions if v.status == "ok"]
    return PageView(
        date=day.isoformat(),
        date_ko=korean_date(day),
        generated_at=now_kst().strftime("%Y-%m-%d %H:%M"),
        headline_count=max(ok, default=0),
        market=tuple(texts.market_pairs(condition)),
        versions=tuple(versions),
        track=track,
        track_chart=svg.curve_chart(series) if series else None,
    )


def render_page(db: sqlite_utils.Database, params: RunParams, day: dt.date | None) -> str:
    """The page of ``day`` as one HTML document (see `page_view`)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = texts.pct
    template = environment.get_template("page.html.j2")
    return template.render(page=page_view(db, params, day))


def write_page(text: str, path: Path) -> None:
    """Replace ``path`` with ``text`` atomically (a temporary file beside it, then a rename).

    Raises
    ------
    BadInput
        The folder of ``path`` does not exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise BadInput(f"--out: folder {str(path.parent)!r} does not exist")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:  # broad-except: remove the partial file, then re-raise
        Path(temporary).unlink(missing_ok=True)
        raise
