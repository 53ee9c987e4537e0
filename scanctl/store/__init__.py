"""Storage: the SQLite schema and every SQL statement of scanctl, grouped by what is stored.

Other packages call these typed functions and never write SQL themselves
(``tests/store/test_sql_home.py`` enforces it).

- `db`, `schema`: opening the store, WAL, migrations, `write_transaction`.
- `bars`, `bar_queries`, `panel`, `coverage`, `importer`: daily bars and index bars (writes,
  date and count questions, the wide panel, ``data status``, CSV import).
- `tickers`: the ticker master and index series.
- `picks` (``scan_rank``), `runs` (``scan_runs``): a scan's results.
- `outbox` (``notifications``): the notification outbox rows.
- `sources` (``source_state``, ``sync_events``): what the data providers keep.
- `calendar_overrides`, `settings` (``scanner_settings``): operator input.
"""
