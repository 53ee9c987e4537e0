"""A child process for the kill -9 test: a real scan of v2 and v3 whose results transaction
stays open (save_session calls its in-transaction callback, which waits) until the test kills
it: `python -m tests.jobs.write_child DB DATE`. It prints "in write" once its rows are written."""

import datetime as dt
import sys
import time

from scanctl.jobs.daily import save_session, scan_session
from scanctl.jobs.prepare import load_market_data
from scanctl.settings import load_settings
from scanctl.store.db import open_db


def main(db_path: str, day: dt.date) -> None:
    params = load_settings().run  # the environment may change the limits
    versions = ("v2", "v3")
    db = open_db(db_path)
    data = load_market_data(db, day, params.max_lookback(versions), params.market)
    condition, outcomes = scan_session(data, day, params, versions)

    def hold(_db) -> None:
        print("in write", flush=True)
        time.sleep(60)

    save_session(db, day, "manual", outcomes, condition, params, hold)


if __name__ == "__main__":
    main(sys.argv[1], dt.date.fromisoformat(sys.argv[2]))
