"""The SQLite schema of PRODUCT.md §4.1 as ordered forward migrations.

The schema version is SQLite's ``PRAGMA user_version``: migration N brings a database from
version N-1 to N. A new migration is appended to `MIGRATIONS`; existing entries never change.
"""

from __future__ import annotations

import re

TICKERS = """
CREATE TABLE tickers (
    code TEXT PRIMARY KEY,
    name TEXT,
    market TEXT NOT NULL CHECK (market IN ('KOSPI', 'KOSDAQ', 'KONEX')),
    security_type TEXT CHECK (security_type IN
        ('stock', 'preferred', 'etf', 'etn', 'spac', 'reit', 'fund', 'other')),
    managed INTEGER NOT NULL DEFAULT 0,
    halted INTEGER NOT NULL DEFAULT 0,
    listed_on TEXT,
    updated_at TEXT
) STRICT
"""

BARS = """
CREATE TABLE bars (
    date TEXT NOT NULL,
    code TEXT NOT NULL,
    open INTEGER,
    high INTEGER,
    low INTEGER,
    close INTEGER,
    volume INTEGER,
    value INTEGER,
    source TEXT,
    PRIMARY KEY (date, code)
) WITHOUT ROWID, STRICT
"""

INDEX_BARS = """
CREATE TABLE index_bars (
    date TEXT NOT NULL,
    index_code TEXT NOT NULL,
    open REAL,
    high REAL,
    low REAL,
    close REAL,
    volume INTEGER,
    PRIMARY KEY (date, index_code)
) WITHOUT ROWID, STRICT
"""

SCAN_RANK = """
CREATE TABLE scan_rank (
    date TEXT NOT NULL,
    code TEXT NOT NULL,
    scanner_version TEXT NOT NULL,
    name TEXT,
    score REAL,
    score_label TEXT,
    close_price INTEGER,
    volume INTEGER,
    change_rate REAL,
    market TEXT,
    strategy TEXT,
    indicators TEXT,
    trend TEXT,
    flags TEXT,
    details TEXT,
    rank INTEGER,
    engine TEXT,
    anchor_date TEXT,
    anchor_close INTEGER,
    anchor_price_type TEXT,
    anchor_source TEXT,
    run_id TEXT,
    created_at TEXT,
    PRIMARY KEY (date, code, scanner_version)
) STRICT
"""

SCAN_RUNS = """
CREATE TABLE scan_runs (
    run_id TEXT PRIMARY KEY,
    date TEXT NOT NULL,
    scanner_version TEXT NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('cron', 'manual', 'backfill')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_s REAL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    universe_count INTEGER,
    matched_count INTEGER,
    error TEXT,
    market_condition TEXT,
    params TEXT
) STRICT
"""

SCANNER_SETTINGS = """
CREATE TABLE scanner_settings (
    setting_key TEXT PRIMARY KEY,
    setting_value TEXT NOT NULL,
    description TEXT,
    updated_at TEXT
) STRICT
"""

NOTIFICATIONS = """
CREATE TABLE notifications (
    date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('daily', 'failure', 'test')),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    provider_message_id TEXT,
    payload TEXT,
    created_at TEXT,
    sent_at TEXT,
    PRIMARY KEY (date, kind, channel)
) STRICT
"""

CALENDAR_OVERRIDES = """
CREATE TABLE calendar_overrides (
    date TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('closed', 'session')),
    open_time TEXT,
    close_time TEXT,
    reason TEXT
) STRICT
"""

# A derived, columnar copy of each date's bars so that reading a 260-session panel is a handful
# of blob reads instead of 700k row steps. The triggers drop a date's block whenever a bar of
# that date changes, by scanctl or anyone else; the panel reader rebuilds missing blocks.
BAR_BLOCKS = """
CREATE TABLE bar_blocks (
    date TEXT PRIMARY KEY,
    codes BLOB NOT NULL,
    data BLOB NOT NULL
) STRICT
"""

BAR_BLOCK_TRIGGERS = [
    """CREATE TRIGGER bars_insert_drops_block AFTER INSERT ON bars
       BEGIN DELETE FROM bar_blocks WHERE date = NEW.date; END""",
    """CREATE TRIGGER bars_update_drops_block AFTER UPDATE ON bars
       BEGIN DELETE FROM bar_blocks WHERE date IN (OLD.date, NEW.date); END""",
    """CREATE TRIGGER bars_delete_drops_block AFTER DELETE ON bars
       BEGIN DELETE FROM bar_blocks WHERE date = OLD.date; END""",
]

INDEXES = [
    "CREATE INDEX scan_rank_date_version_rank ON scan_rank (date, scanner_version, rank)",
    "CREATE INDEX scan_runs_date_version ON scan_runs (date, scanner_version)",
]

# Data-provider state (issue: real market data): a circuit breaker per source, opened by a block
# page or a 403 and kept for 24 h, and a log of sync events such as detected corporate actions.
SOURCE_STATE = """
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    blocked_until TEXT,
    reason TEXT,
    updated_at TEXT
) STRICT
"""

SYNC_EVENTS = """
CREATE TABLE sync_events (
    id INTEGER PRIMARY KEY,
    date TEXT,
    code TEXT,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT,
    created_at TEXT NOT NULL
) STRICT
"""

# The outbox's delivery states (issue 11): a row is `sending` (committed) before its request
# goes out, and `unknown` when the request may have arrived but no answer was recorded; the
# number of parts of a long message already delivered is kept so that a retry skips them.
NOTIFICATIONS_V3 = [
    """
CREATE TABLE notifications_v3 (
    date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('daily', 'failure', 'test')),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    provider_message_id TEXT,
    payload TEXT,
    created_at TEXT,
    sent_at TEXT,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (date, kind, channel)
) STRICT
""",
    "INSERT INTO notifications_v3 (date, kind, channel, status, attempts, last_error,"
    " provider_message_id, payload, created_at, sent_at) SELECT date, kind, channel, status,"
    " attempts, last_error, provider_message_id, payload, created_at, sent_at FROM notifications",
    "DROP TABLE notifications",
    "ALTER TABLE notifications_v3 RENAME TO notifications",
]

# Migration 4: runs record how they were started as cron, manual, ci (a non-interactive run in a
# CI or make job), backfill or catchup (a missed session the daily run healed first). SQLite
# cannot change a CHECK constraint in place, so the table is rebuilt with its rows.
SCAN_RUNS_TRIGGERS = [
    SCAN_RUNS.replace("CREATE TABLE scan_runs", "CREATE TABLE scan_runs_new").replace(
        "('cron', 'manual', 'backfill')", "('cron', 'manual', 'ci', 'backfill', 'catchup')"
    ),
    "INSERT INTO scan_runs_new SELECT * FROM scan_runs",
    "DROP TABLE scan_runs",
    "ALTER TABLE scan_runs_new RENAME TO scan_runs",
    "CREATE INDEX scan_runs_date_version ON scan_runs (date, scanner_version)",
]

# Migration 5 (issue 13): the run record of ENGINES.md §8.6 beside the market condition and the
# parameters of each run: the universe (limits, sizes, members), the counts and the version's
# own block (v1 fallback steps, v2 gate and horizons, v3 routing), as JSON. Older rows keep NULL.
SCAN_RUNS_RECORD = ["ALTER TABLE scan_runs ADD COLUMN record TEXT"]

MIGRATIONS: list[list[str]] = [
    # 1: the schema of PRODUCT.md §4.1.
    [
        TICKERS,
        BARS,
        INDEX_BARS,
        SCAN_RANK,
        SCAN_RUNS,
        SCANNER_SETTINGS,
        NOTIFICATIONS,
        CALENDAR_OVERRIDES,
        BAR_BLOCKS,
        *BAR_BLOCK_TRIGGERS,
        *INDEXES,
    ],
    # 2: provider state.
    [SOURCE_STATE, SYNC_EVENTS],
    # 3: the outbox's `sending` and `unknown` states and delivered parts.
    NOTIFICATIONS_V3,
    # 4: the triggers ci and catchup.
    SCAN_RUNS_TRIGGERS,
    # 5: the run record.
    SCAN_RUNS_RECORD,
]

SCHEMA_VERSION = len(MIGRATIONS)


def tables_at(version: int) -> set[str]:
    """The tables a store at schema ``version`` has, replaying its migrations' CREATE, DROP and
    RENAME TABLE statements (how `open_db` tells a scanctl store from another SQLite file)."""
    tables: set[str] = set()
    for sql in (sql for migration in MIGRATIONS[:version] for sql in migration):
        tables |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql))
        tables -= set(re.findall(r"DROP TABLE (?:IF EXISTS )?(\w+)", sql))
        for old, new in re.findall(r"ALTER TABLE (\w+) RENAME TO (\w+)", sql):
            tables = (tables - {old}) | {new}
    return tables
