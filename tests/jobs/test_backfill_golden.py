"""The picks are unchanged by the speed work of issue 12 (windows by gathering, the engines'
columns cut to the universe, indicators of many dates in one batch): a backfill of the seed-1
demo market (300 tickers x 260 sessions, its last 60 sessions, v1, v2 and v3) dumps to the same
bytes as it did before that work (commit 4a4476a), whose digest is recorded here."""

import hashlib
import json
import shutil
import sqlite3

from tests.conftest import run_cli

# sha256 of `digest_of_results` on the store the code of 4a4476a left after this backfill
BEFORE = "4f20374a03b45abc892b0921f2b7faa74820e09ef81a098b36758204aa71d522"
# `params` is left out: since the run record (issue 13) it holds the engines' effective values
RUN_COLUMNS = (
    "date, scanner_version, status, universe_count, matched_count, error, market_condition"
)


def digest_of_results(path) -> str:
    """sha256 of every `scan_rank` row (less run_id and created_at, which identify the write)
    and the result columns of every `scan_runs` row, in key order."""
    conn = sqlite3.connect(path)
    try:
        rank = conn.execute("SELECT * FROM scan_rank ORDER BY date, scanner_version, code")
        names = [d[0] for d in rank.description]
        kept = [n for n, name in enumerate(names) if name not in ("run_id", "created_at")]
        lines = [json.dumps({names[n]: row[n] for n in kept}) for row in rank]
        runs = conn.execute(
            f"SELECT {RUN_COLUMNS} FROM scan_runs ORDER BY date, scanner_version"
        ).fetchall()
        lines += [json.dumps(row) for row in runs]
    finally:
        conn.close()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_backfill_results_are_those_before_the_speed_work(demo_seed1_template, tmp_path):
    db = tmp_path / "demo.db"
    shutil.copy(demo_seed1_template, db)
    result = run_cli("--db", str(db), "backfill", "--from", "2025-09-01", "--to", "2025-11-28",
                     "--version", "v1,v2,v3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(db)
    counts = conn.execute("SELECT count(*), count(DISTINCT date) FROM scan_runs").fetchone()
    conn.close()
    assert counts == (3 * 60, 60)
    assert digest_of_results(db) == BEFORE
