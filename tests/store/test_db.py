import sqlite3
from pathlib import Path

import pytest

from scanctl.errors import StoreError
from scanctl.store.db import open_db, schema_version, write_transaction
from scanctl.store.schema import SCHEMA_VERSION, tables_at

TABLES = {
    "tickers",
    "bars",
    "index_bars",
    "scan_rank",
    "scan_runs",
    "scanner_settings",
    "notifications",
    "calendar_overrides",
}


def test_first_open_creates_every_table_in_wal_mode(db_path):
    db = open_db(db_path)
    assert set(db.table_names()) >= TABLES
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == SCHEMA_VERSION
    assert db["scan_rank"].pks == ["date", "code", "scanner_version"]
    assert db["notifications"].pks == ["date", "kind", "channel"]


def test_default_path_is_under_xdg_data_home(tmp_path):
    db = open_db()
    assert (tmp_path / "xdg-data" / "scanctl" / "scanctl.db").exists()
    db.conn.close()


def test_reopen_keeps_data_and_version(db_path):
    db = open_db(db_path)
    db.execute("INSERT INTO scanner_settings VALUES ('active_engine', 'v2', NULL, NULL)")
    db.conn.close()
    again = open_db(db_path)
    assert again.execute("SELECT setting_value FROM scanner_settings").fetchone() == ("v2",)


def test_strict_tables_reject_wrong_types(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO bars (date, code, close) VALUES ('2025-01-02', '005930', 'abc')")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_db(tmp_path / "nope" / "x.db")


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable scanctl database"):
        open_db(path)


def test_newer_schema_is_refused_untouched(db_path):
    db = open_db(db_path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.execute("PRAGMA journal_mode = DELETE")  # so that a switch back to WAL would show
    db.conn.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="newer than this scanctl"):
        open_db(db_path)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_create_false_refuses_missing_file(db_path):
    with pytest.raises(StoreError, match="no scanctl store at .*; create one with"):
        open_db(db_path, create=False)
    assert not db_path.exists()


def test_create_false_creates_no_default_folder(tmp_path):
    with pytest.raises(StoreError, match=r"no scanctl store at .*xdg-data/scanctl/scanctl\.db"):
        open_db(create=False)
    assert not (tmp_path / "xdg-data").exists()


def foreign_file(path, *, wal=False, user_version=0):
    """A SQLite file of another program: a table ``foo`` with a row."""
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE foo (x INTEGER)")
    conn.execute("INSERT INTO foo VALUES (1)")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("create", [True, False])
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ({}, "not a scanctl store [(]it holds foo[)]"),
        ({"wal": True}, "not a scanctl store [(]it holds foo[)]"),
        ({"user_version": 1}, r"not a scanctl store [(]missing table\(s\) bar_blocks, bars"),
    ],
)
def test_foreign_sqlite_file_is_refused_untouched(tmp_path, kind, message, create):
    path = foreign_file(tmp_path / "other.db", **kind)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message):
        open_db(path, create=create)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, -shm, -journal


@pytest.mark.parametrize("make", [Path.touch, lambda p: sqlite3.connect(p).execute("VACUUM")])
def test_empty_file_is_new_only_where_creating_is_allowed(db_path, make):
    make(db_path)
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="no scanctl store at .*empty"):
        open_db(db_path, create=False)
    assert db_path.read_bytes() == before
    db = open_db(db_path, create=True)
    assert schema_version(db) == SCHEMA_VERSION and set(db.table_names()) >= TABLES


def test_a_store_is_recognised_while_its_wal_holds_the_schema(db_path):
    """A store whose tables are still only in the -wal file (not yet checkpointed)."""
    writer = open_db(db_path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    assert Path(f"{db_path}-wal").exists()
    reader = open_db(db_path, create=False)
    assert schema_version(reader) == SCHEMA_VERSION
    reader.conn.close()
    writer.conn.close()


def test_tables_at_follows_the_migrations():
    assert tables_at(0) == set()
    assert tables_at(1) >= TABLES
    assert tables_at(SCHEMA_VERSION) >= tables_at(1) | {"source_state", "sync_events"}


def test_write_transaction_rolls_back_on_error(db):
    with pytest.raises(RuntimeError), write_transaction(db):
        db.execute("INSERT INTO scanner_settings VALUES ('a', 'b', NULL, NULL)")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM scanner_settings").fetchone() == (0,)


def test_forward_migration_applies_once(db_path, monkeypatch):
    import scanctl.store.db as store_db

    open_db(db_path).conn.close()
    extra = [*store_db.MIGRATIONS, ["CREATE TABLE extra_things (x INTEGER) STRICT"]]
    monkeypatch.setattr(store_db, "MIGRATIONS", extra)
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", len(extra))
    db = open_db(db_path)
    assert "extra_things" in db.table_names()
    assert schema_version(db) == len(extra)
    db.conn.close()
    assert "extra_things" in open_db(db_path).table_names()  # reopening does not re-run it


def test_migration_4_keeps_the_runs_and_accepts_the_new_triggers(tmp_path):
    """A store of schema 2 with runs opens at the current schema with every row kept."""
    import sqlite3

    from scanctl.store.schema import MIGRATIONS

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    row = ("r1", "2025-11-28", "v2", "cron", "2025-11-28T15:42:00+09:00", None, 1.5, "ok")
    conn.execute(
        "INSERT INTO scan_runs (run_id, date, scanner_version, trigger, started_at, "
        "finished_at, duration_s, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )
    conn.commit()
    conn.close()
    db = open_db(path)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert db.execute("SELECT run_id, trigger, status FROM scan_runs").fetchall() == [
        ("r1", "cron", "ok")
    ]
    for trigger in ("ci", "catchup"):
        db.execute(
            "INSERT INTO scan_runs (run_id, date, scanner_version, trigger, started_at, status) "
            "VALUES (?, '2025-11-28', 'v3', ?, 'x', 'ok')",
            [f"r-{trigger}", trigger],
        )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO scan_runs (run_id, date, scanner_version, trigger, started_at, status) "
            "VALUES ('bad', '2025-11-28', 'v3', 'cronjob', 'x', 'ok')"
        )
    assert "scan_runs_date_version" in {index.name for index in db["scan_runs"].indexes}


def test_migration_3_keeps_outbox_rows_and_allows_the_delivery_states(db_path):
    """A version-2 store: its outbox rows survive the rebuild of `notifications`, which then
    accepts `sending` and `unknown` and counts delivered parts."""
    from scanctl.store.schema import MIGRATIONS

    conn = sqlite3.connect(db_path, isolation_level=None)
    for statement in [*MIGRATIONS[0], *MIGRATIONS[1]]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO notifications (date, kind, channel, status, attempts, last_error,"
        " provider_message_id, payload, created_at, sent_at) VALUES ('2025-11-27', 'daily',"
        " 'ops', 'sent', 2, NULL, '9', '{}', '2025-11-27T18:00:00+09:00', "
        "'2025-11-27T18:00:05+09:00')"
    )
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    db = open_db(db_path)
    assert schema_version(db) == SCHEMA_VERSION >= 3
    (row,) = db.query("SELECT * FROM notifications")
    assert row == {
        "date": "2025-11-27",
        "kind": "daily",
        "channel": "ops",
        "status": "sent",
        "attempts": 2,
        "parts_sent": 0,
        "last_error": None,
        "provider_message_id": "9",
        "payload": "{}",
        "created_at": "2025-11-27T18:00:00+09:00",
        "sent_at": "2025-11-27T18:00:05+09:00",
    }
    for status in ("sending", "unknown"):
        db.execute("UPDATE notifications SET status = ?", [status])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE notifications SET status = 'lost'")


def test_migration_5_adds_the_run_record_and_keeps_older_runs(tmp_path):
    """A store of schema 4 with a run opens at the current schema: the run keeps its columns,
    its record is NULL (shown as the market condition and parameters alone), and new runs
    store their record."""
    from scanctl.reports.history import run_history
    from scanctl.store.runs import insert_run_record
    from scanctl.store.schema import MIGRATIONS

    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:4]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO scan_runs (run_id, date, scanner_version, trigger, started_at, status, "
        "universe_count, matched_count, market_condition, params) VALUES ('old', '2025-11-27', "
        "'v1', 'cron', '2025-11-27T15:42:00+09:00', 'ok', 200, 0, '{\"status\":\"ok\"}', "
        '\'{"v1":{"top_k":5}}\')'
    )
    conn.commit()
    conn.close()
    db = open_db(path)
    assert schema_version(db) == SCHEMA_VERSION >= 5
    assert "record" in db["scan_runs"].columns_dict
    assert db.execute("SELECT run_id, universe_count, record FROM scan_runs").fetchall() == [
        ("old", 200, None)
    ]
    with write_transaction(db):
        insert_run_record(
            db,
            {
                "run_id": "new",
                "date": "2025-11-28",
                "scanner_version": "v1",
                "trigger": "cron",
                "started_at": "2025-11-28T15:42:00+09:00",
                "status": "ok",
                "record": '{"counts":{"matched_count":3}}',
            },
        )
    new, old = run_history(db, 10, None, records=True)
    assert not {"market_condition", "params"} & set(new)  # only inside the record
    assert new["record"] == {
        "market_condition": None,
        "params": None,
        "counts": {"matched_count": 3},
    }
    assert old["record"] == {"market_condition": {"status": "ok"}, "params": {"v1": {"top_k": 5}}}
