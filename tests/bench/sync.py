"""Benchmark: a full-market daily sync from naver against a local server with 30 ms latency.

2,700 tickers (950 KOSPI, 1,750 KOSDAQ) on the fake Naver (127.0.0.1), every request delayed
30 ms by the server; the provider runs with its default settings (≤ 5 requests in flight, the
default rate limit). The store already holds the previous 40 sessions, so the gates and the
corporate-action check run as on a normal evening. Prints the wall time of the sync (budget
60 s), the time to write the day's bars (budget 0.5 s), the requests sent and the most the
server saw in flight (must be ≤ 5).

Run: ``python -m tests.bench.sync`` or `make bench` (not collected by pytest).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from tests.bench.common import report

N_KOSPI, N_KOSDAQ = 950, 1_750
LATENCY_S = 0.030
DAY = dt.date(2025, 11, 28)


def main(**naver: float) -> None:
    """Run the benchmark; ``naver`` overrides ``[data.naver]`` keys (default: none)."""
    os.environ["SCANCTL_NOW"] = "2025-11-28T18:00:00"
    from scanctl.config import Config
    from scanctl.market.calendar import KrxCalendar
    from scanctl.providers.base import make_provider
    from scanctl.providers.settings import DataConfig
    from scanctl.providers.sync import sync
    from scanctl.store.bars import upsert_bars
    from scanctl.store.db import open_db, write_transaction
    from tests.providers.naver_server import FakeNaver, build_market

    calendar = KrxCalendar()
    sessions = calendar.sessions_in_range(dt.date(2025, 9, 15), DAY)[-41:]
    with tempfile.TemporaryDirectory() as folder, FakeNaver(latency_s=LATENCY_S) as fake:
        stocks = build_market(fake, sessions, N_KOSPI, N_KOSDAQ)
        db = open_db(Path(folder) / "bench.db")
        stored = [
            (f"{b[0][:4]}-{b[0][4:6]}-{b[0][6:]}", s.code, *map(int, b[1:]), None)
            for s in stocks
            for b in s.bars[:-1]
        ]
        with write_transaction(db):
            upsert_bars(db, stored, "naver")
        table = {"base_url": fake.url, "listing_url": fake.url, **naver}
        config = DataConfig.from_config(Config(sections={"data": {"naver": table}}))
        provider = make_provider("naver", config, db)
        settings = provider.client.settings
        started = time.perf_counter()
        result = sync(db, provider, [DAY], calendar)
        wall = time.perf_counter() - started
        provider.close()
        day = result.dates[0]
        print(
            f"naver full-market sync: {result.tickers:,} tickers, {day.bars:,} bars written, "
            f"{len(fake.log):,} requests, server latency {LATENCY_S * 1000:.0f} ms, "
            f"max_in_flight {settings.max_in_flight}, rate_per_s {settings.rate_per_s:g}"
        )
        report("data sync, full market (wall)", wall, "s", 60.0)
        report("  of which fetching (listing, charts, indexes)", result.fetch_s, "s")
        report("  writing the day's bars (one transaction)", day.write_s, "s", 0.5)
        report("  most requests in flight at the server", fake.max_in_flight, "", 5)
        floor = len(fake.log) * LATENCY_S / settings.max_in_flight
        report("  latency floor (requests × 30 ms / in flight)", floor, "s")
        report(
            "  rate-limit floor (requests / rate_per_s)", len(fake.log) / settings.rate_per_s, "s"
        )
        db.conn.close()


if __name__ == "__main__":
    main()
