"""Benchmark: a whole-market daily sync from naver, at naver's default pace, on a local server.

2,700 tickers (950 KOSPI, 1,750 KOSDAQ) on the fake Naver (127.0.0.1), every request delayed
30 ms by the server; the provider runs with its **default** settings — at most 10 requests a
second and 4 in flight (`scanctl.providers.naver.RATE_PER_S` / ``MAX_IN_FLIGHT``), the pace the
README quotes. At that pace the rate limit, not the latency, sets the time: 4 requests in flight
keep 10 a second going for any reply time under 0.4 s, so the figure holds for the real
round trip too. The store already holds the previous 40 sessions, so the gates and the
corporate-action check run as on a normal evening.

Prints the wall time of the sync (budget: the rate-limit floor plus 10 %), the requests sent,
the pace achieved (requests after the initial burst per second of fetching, must stay
≤ rate_per_s), the most requests the server saw in flight (must be ≤ max_in_flight) and the time to
write the day's bars (budget 0.5 s). It takes about five minutes.

Run: ``python -m tests.bench.sync`` or `make bench` (not collected by pytest);
``main(latency_s=0.2)`` for a slower source, ``main(rate_per_s=80, max_in_flight=5)`` for
another pace.
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


def main(latency_s: float = LATENCY_S, **naver: float) -> None:
    """Run the benchmark with ``latency_s`` added by the server to every reply; ``naver``
    overrides ``[data.naver]`` keys (default: none)."""
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
    with tempfile.TemporaryDirectory() as folder, FakeNaver(latency_s=latency_s) as fake:
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
            f"{len(fake.log):,} requests, server latency {latency_s * 1000:.0f} ms, "
            f"max_in_flight {settings.max_in_flight}, rate_per_s {settings.rate_per_s:g}"
        )
        requests = len(fake.log)
        rate_floor = (requests - settings.max_in_flight) / settings.rate_per_s  # after the burst
        latency_floor = requests * latency_s / settings.max_in_flight
        floor = max(rate_floor, latency_floor)
        report("data sync, full market (wall)", wall, "s", round(floor * 1.1 + 5, 1))
        report("  of which fetching (listing, charts, indexes)", result.fetch_s, "s")
        report("  writing the day's bars (one transaction)", day.write_s, "s", 0.5)
        pace = (requests - settings.max_in_flight) / result.fetch_s
        report("  pace while fetching ((requests − burst) / fetch time)", pace, "/s",
               settings.rate_per_s)  # fmt: skip
        report("  most requests in flight at the server", fake.max_in_flight, "",
               settings.max_in_flight)  # fmt: skip
        report("  rate-limit floor ((requests − burst) / rate_per_s)", rate_floor, "s")
        report("  latency floor (requests × latency / in flight)", latency_floor, "s")
        db.conn.close()


if __name__ == "__main__":
    main()
