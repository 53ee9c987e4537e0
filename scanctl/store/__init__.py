"""Storage: the SQLite schema, migrations, bar import and the wide price panel."""
