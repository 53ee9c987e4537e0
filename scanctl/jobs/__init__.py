"""The writers of results: the daily job (`daily`: gates, sync, scan, store, notify) and
`backfill`, with the pipeline they share (`prepare`, `gates`, `persist`)."""
