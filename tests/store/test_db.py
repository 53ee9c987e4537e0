import sqlite3

import pytest

from scanctl.errors import StoreError
from scanctl.store.db import open_db, schema_version, write_transaction
from scanctl.store.schema import SCHEMA_VERSION

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


def test_newer_schema_is_refused(db_path):
    db = open_db(db_path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.conn.close()
    with pytest.raises(StoreError, match="newer than this scanctl"):
        open_db(db_path)


def test_create_false_refuses_missing_file(db_path):
    with pytest.raises(StoreError, match="no database"):
        open_db(db_path, create=False)
    assert not db_path.exists()


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
