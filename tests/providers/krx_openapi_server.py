"""A local stand-in for the KRX Open API daily trading services (127.0.0.1 only).

Shapes written from the KRX Open API specification (ECOSYSTEM.md §1.2; openapi.krx.co.kr
``sto/stk_bydd_trd``, ``sto/ksq_bydd_trd``): ``GET /svc/apis/sto/{stk|ksq}_bydd_trd?basDd=…``
with an ``AUTH_KEY`` header → UTF-8 JSON ``{"OutBlock_1": [{BAS_DD, ISU_CD, ISU_NM, MKT_NM,
SECT_TP_NM, TDD_CLSPRC, CMPPREVDD_PRC, FLUC_RT, TDD_OPNPRC, TDD_HGPRC, TDD_LWPRC, ACC_TRDVOL,
ACC_TRDVAL, MKTCAP, LIST_SHRS}]}``, numbers as text with thousands separators. A date not
published yet (or a holiday) answers an empty ``OutBlock_1``; a wrong key or an unapproved
service answers HTTP 401 ``{"respMsg": "Unauthorized API Call", "respCode": "401"}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tests.providers.scripted_server import Reply, Scripted, Seen, json_reply

PATHS = {"KOSPI": "/svc/apis/sto/stk_bydd_trd", "KOSDAQ": "/svc/apis/sto/ksq_bydd_trd"}
AUTH_KEY = "74D1B99DFBF345BBA3FB4476510A4BED4C78D13A"


def krx_row(
    day: dt.date,
    code: str,
    name: str,
    market: str,
    ohlc: tuple[int, int, int, int],
    change: int,
    volume: int,
    sect: str = "",
) -> dict[str, str]:
    open_, high, low, close = ohlc
    rate = f"{100 * change / (close - change):.2f}" if close - change else "0.00"
    return {
        "BAS_DD": day.strftime("%Y%m%d"),
        "ISU_CD": code,
        "ISU_NM": name,
        "MKT_NM": market,
        "SECT_TP_NM": sect,
        "TDD_CLSPRC": f"{close:,}",
        "CMPPREVDD_PRC": f"{change:,}",
        "FLUC_RT": rate,
        "TDD_OPNPRC": f"{open_:,}",
        "TDD_HGPRC": f"{high:,}",
        "TDD_LWPRC": f"{low:,}",
        "ACC_TRDVOL": f"{volume:,}",
        "ACC_TRDVAL": f"{volume * close:,}",
        "MKTCAP": f"{close * 1_000_000:,}",
        "LIST_SHRS": "1,000,000",
    }


class FakeKrx(Scripted):
    """The fake KRX Open API: ``days[basDd][market]`` rows, scripted misbehaviour."""

    def __init__(self) -> None:
        super().__init__()
        self.days: dict[str, dict[str, list[dict]]] = {}
        self.approved = set(PATHS.values())

    def key(self, request: Seen) -> str:
        market = next((m for m, path in PATHS.items() if path == request.path), "?")
        return f"{market}:{request.args.get('basDd', '')}"

    def normal(self, request: Seen) -> Reply:
        unauthorized = {"respMsg": "Unauthorized API Call", "respCode": "401"}
        if request.headers.get("auth_key") != AUTH_KEY or request.path not in self.approved:
            return json_reply(unauthorized, status=401)
        market = next((m for m, path in PATHS.items() if path == request.path), None)
        if market is None:
            return Reply(404, b"not found", content_type="text/plain")
        rows = self.days.get(request.args.get("basDd", ""), {}).get(market, [])
        return json_reply({"OutBlock_1": rows})


def build_market(
    fake: FakeKrx, sessions: Sequence[dt.date], n_kospi: int, n_kosdaq: int
) -> list[str]:
    """Stocks traded on every session (the last code of each market alphanumeric, KOSDAQ's
    second marked KOSDAQ GLOBAL); returns the codes."""
    codes = []
    for number in range(n_kospi + n_kosdaq):
        market = "KOSPI" if number < n_kospi else "KOSDAQ"
        last = number in (n_kospi - 1, n_kospi + n_kosdaq - 1)
        code = f"{number:04d}Z0" if last else f"{100_000 + number * 10:06d}"
        label = "KOSDAQ GLOBAL" if number == n_kospi + 1 else market
        previous = None
        for step, day in enumerate(sessions):
            close = 1_000 + 37 * number + (step % 7) * 10
            change = close - previous if previous is not None else 0
            row = krx_row(day, code, f"테스트{number}", label, (close - 5, close + 10,
                          close - 10, close), change, 1_000 + number)  # fmt: skip
            fake.days.setdefault(day.strftime("%Y%m%d"), {}).setdefault(market, []).append(row)
            previous = close
        codes.append(code)
    return codes
