"""`scanctl report`: the daily page on a backfilled demo market, opened in headless Chromium."""

import datetime as dt
import json
import re
import shutil
import sqlite3

import pytest
from PIL import Image

from scanctl.reports.inspect import inspect_ticker
from scanctl.reports.page import labels
from scanctl.reports.page.views import version_views
from scanctl.settings import load_settings
from scanctl.store.db import open_db
from tests.conftest import run_cli
from tests.demo_store import DEMO_LAST_SESSION
from tests.reports.browser import render
from tests.reports.page_store import CONFIG

DAY = dt.date.fromisoformat(DEMO_LAST_SESSION)
EXTERNAL = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:[a-z]+:)?//""", re.I)


def cli(store, *args):
    db, config = store
    return run_cli("--db", str(db), "--config", str(config), *args)


@pytest.fixture(scope="module")
def shared(page_template, tmp_path_factory):
    """One copy of the page store and its page, rendered once for the tests that only read
    them: ``((db path, config path), page path)``."""
    folder = tmp_path_factory.mktemp("page")
    db, config = folder / "page.db", folder / "page.toml"
    shutil.copy(page_template[0], db)
    config.write_text(CONFIG, encoding="utf-8")
    out = folder / "site" / "index.html"
    out.parent.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCANCTL_NOW", "2025-11-28T18:00:00")
        result = cli((db, config), "report", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stderr and result.stdout == ""
    return (db, config), out


@pytest.fixture
def page_file(shared):
    return shared[1]


@pytest.fixture
def shared_db(shared):
    return shared[0]


def stored(store):
    """(picks of the last session by version, the runs of that session by version)."""
    shown = json.loads(cli(store, "show", "--json").stdout)
    picks = {}
    for pick in shown["picks"]:
        if pick["code"] != "NORESULT":
            picks.setdefault(pick["scanner_version"], []).append(pick)
    runs = json.loads(cli(store, "runs", "--limit", "3", "--json").stdout)
    return picks, {run["scanner_version"]: run for run in runs if run["date"] == DAY.isoformat()}


def test_the_page_opens_in_chromium_without_console_errors(page_file, tmp_path):
    shown = render(page_file, tmp_path)
    assert shown.console == [], shown.console
    image = Image.open(shown.screenshot).convert("RGB")
    assert image.size == (1280, 1600)
    colors = image.getcolors(maxcolors=1 << 20)
    assert len(colors) > 100  # text, tables and charts, not a blank or single-colour page
    ink = sum(count for count, rgb in colors if min(rgb) < 200)  # text, lines, candles
    assert ink > 0.01 * image.size[0] * image.size[1]
    # the candles of the first version's charts: up in red (#e03131), down in blue (#1971c2)
    assert any(count > 20 for count, rgb in colors if rgb == (0xE0, 0x31, 0x31))
    assert any(count > 20 for count, rgb in colors if rgb == (0x19, 0x71, 0xC2))


def test_the_browser_check_sees_script_errors_and_blocked_requests(page_file, tmp_path):
    """The page forbids every outside request (its CSP) and the browser check reports both a
    script error and a blocked request: the check above can fail."""
    html = page_file.read_text(encoding="utf-8")
    broken = html.replace(
        "</body>",
        '<img src="https://example.org/pixel.png" alt="">'
        "<script>console.error('page broke'); missingFunction();</script></body>",
    )
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    console = render(bad, tmp_path, height=400).console
    assert any("page broke" in line for line in console), console
    assert any("missingFunction is not defined" in line for line in console), console
    assert any("https://example.org/pixel.png" in line and "Content Security Policy" in line
               for line in console), console  # fmt: skip


def test_thirty_picks_make_a_self_contained_page_under_2_mb(shared_db, page_file):
    picks, _ = stored(shared_db)
    total = sum(len(rows) for rows in picks.values())
    assert total >= 30 and set(picks) == {"v1", "v2", "v3"}
    data = page_file.read_bytes()
    assert len(data) < 2_000_000, len(data)
    html = data.decode("utf-8")
    assert EXTERNAL.findall(html) == []
    assert "http://" not in html and "https://" not in html
    for forbidden in ("<link", "@import", "url(", "<iframe", "<object", "<embed", "<img"):
        assert forbidden not in html, forbidden
    assert re.findall(r"<script[^>]*>", html) == ["<script>"]  # one inline script, no src
    assert (
        "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\"" in html
    )
    assert html.count('<svg class="chart"') == total  # a chart per pick
    assert html.count('<svg class="chart wide"') == 1  # the track record


def test_korean_labels_headline_and_sections(shared_db, page_file):
    html = page_file.read_text(encoding="utf-8")
    picks, runs = stored(shared_db)
    headline = max(run["matched_count"] for run in runs.values())
    assert "<title>[scanctl] 2025년 11월 28일 스캔 결과</title>" in html
    assert f"추천 종목 {headline}개" in html  # the notification's headline count
    for label in ("시장 상황", "아깝게 빠진 종목", "실행 기록", "추천 성과", "종목코드", "등락률"):
        assert label in html
    for version, rows in picks.items():
        section = html[html.index(f'<section id="{version}"') :]
        section = section[: section.index("</section>")]
        assert f"{version}: {runs[version]['matched_count']}개" in section
        for row in rows:
            assert f"<td>{row['code']}</td>" in section
            assert f"{row['close_price']:,}" in section
        lines = {"v1": ("TEMA20", "DEMA10", "EMA60"), "v2": ("TEMA20", "DEMA10")}
        for line in lines.get(version, ("EMA20", "EMA60")):
            assert f"</i>{line}</span>" in section  # the engine's lines in the legend
    v1 = runs["v1"]["record"]["v1"]
    assert f"목표 {v1['target_min']}~{v1['target_max']}종목" in html
    assert "국면 게이트 (v2)" in html and "라우팅 (v3)" in html


def test_stored_names_are_escaped(page_db, tmp_path):
    db, _ = page_db
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE scan_rank SET name = '<script>alert(1)</script>' "
            "WHERE date = ? AND scanner_version = 'v2' AND rank = 1",
            [DAY.isoformat()],
        )
    conn.close()
    result = cli(page_db, "report")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!doctype html>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.stdout
    assert "<script>alert(1)" not in result.stdout


def test_near_misses_are_what_inspect_says(shared_db):
    """Each near miss is a ticker `inspect` finds evaluated and not picked, for the reason the
    page gives, listed from the one that got furthest through the checks."""
    db_path, config = shared_db
    params = load_settings(config).run
    db = open_db(db_path)
    views, condition = version_views(db, params, DAY)
    midterm = labels.SUB_ENGINE["midterm"]
    assert condition["version"] == "scanctl-mc-1"
    seen = 0
    for view in views:
        passed = []
        for miss in [m for m in view.near_misses if m.engine in ("", midterm)][:2]:
            verdict = inspect_ticker(db, params, miss.code, DAY, (view.version,)).record
            summary = verdict["versions"][view.version]
            if "sub_engines" in summary:
                summary = summary["sub_engines"]["midterm"]
            assert summary["picked"] is False and labels.reason(summary["reason"]) == miss.reason
            passed.append(sum(check["passed"] for check in summary["checks"]))
            seen += 1
        assert passed == sorted(passed, reverse=True), (view.version, passed)
    assert seen == 6


def test_report_errors(shared_db, store_path, tmp_path):
    early = cli(shared_db, "report", "--date", "2025-11-06")  # bars, but no run
    assert early.returncode == 2
    assert "no stored picks or runs for 2025-11-06" in early.stderr
    missing = cli(shared_db, "report", "--out", str(tmp_path / "nowhere" / "index.html"))
    assert missing.returncode == 2 and "--out: folder" in missing.stderr
    empty = run_cli("--db", str(store_path), "report")
    assert empty.returncode == 2 and "no stored picks; run `scanctl scan` first" in empty.stderr
    bad = cli(shared_db, "report", "--date", "28-11-2025")
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_real_data_v1_without_picks_still_explains_itself(real_krx_db):
    """On the shared real data, v1 picks nothing on 2025-11-28 (no fallback step reaches its
    band): its section says so, lists the near misses and the steps' matched counts."""
    db = ("--db", str(real_krx_db))
    scan = run_cli(*db, "scan", "--version", "v1,v2,v3", "--date", "2025-11-28", "--no-notify")
    assert scan.returncode == 0, scan.stderr
    result = run_cli(*db, "report")
    assert result.returncode == 0, result.stderr
    html = result.stdout
    section = html[html.index('<section id="v1"') :]
    section = section[: section.index("</section>")]
    assert "v1: 0개 (추천종목 없음)" in section
    assert "어느 단계도 목표에 못 미쳐 추천 없음" in section
    assert section.count("<tr>") == 1 + 5  # the near-miss table: header and five tickers
    shown = json.loads(run_cli(*db, "show", "--json").stdout)
    codes = [p["code"] for p in shown["picks"] if p["code"] != "NORESULT"]
    assert codes and all(f"<td>{code}</td>" in html for code in codes)
    assert html.count('<svg class="chart"') == len(codes)


def test_a_failed_version_shows_its_error_and_is_not_recomputed(scan_db):
    from scanctl.engines import registry
    from tests.engines.failing_engine import failing

    db = ("--db", str(scan_db))
    with registry.substituted(failing("v3")):
        scan = run_cli(*db, "scan", "--version", "v2,v3", "--no-notify")
        assert scan.returncode == 4, scan.stderr
        result = run_cli(*db, "report")  # the broken engine is still the registered v3
    assert result.returncode == 0, result.stderr
    html = result.stdout
    v3 = html[html.index('<section id="v3"') :]
    v3 = v3[: v3.index("</section>")]
    assert "v3: 실패" in v3 and "오류: " in v3
    assert "다시 계산하지 않았습니다" in v3 and "<svg" not in v3
    assert "추천 종목 " in html and html.count('<svg class="chart"') > 0  # v2 is shown
