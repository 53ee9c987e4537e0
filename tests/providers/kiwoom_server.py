"""A local stand-in for the Kiwoom REST API (127.0.0.1 only).

Shapes written from Kiwoom's REST guide as public clients use it (ECOSYSTEM.md §1.5), UTF-8 JSON:

* ``POST /oauth2/token`` ``{grant_type, appkey, secretkey}`` → ``{token, token_type,
  expires_dt: YYYYMMDDhhmmss, return_code: 0, return_msg}``;
* ``POST /api/dostk/chart`` (``api-id: ka10081``) ``{stk_cd, base_dt, upd_stkpc_tp}`` →
  ``{stk_cd, stk_dt_pole_chart_qry: [{dt, cur_prc, open_pric, high_pric, low_pric, trde_qty,
  trde_prica, pred_pre, …}], return_code, return_msg}``, newest first from ``base_dt``,
  ``page_rows`` a reply, continued through the ``cont-yn`` / ``next-key`` headers;
* ``POST /api/dostk/stkinfo`` (``api-id: ka10099``) ``{mrkt_tp}`` → ``{list: [{code, name,
  regDay, marketName, auditInfo, state, orderWarning, …}]}``, paged the same way.

Errors come as ``return_code`` ≠ 0 with the bracketed code in ``return_msg``: an unknown token
gets ``[8005:Token이 유효하지 않습니다]``, wrong keys ``[8001:…]``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from scanctl.clock import now_kst
from tests.providers.scripted_server import Reply, Scripted, Seen, json_reply

TOKEN = "/oauth2/token"
CHART = "/api/dostk/chart"
LIST = "/api/dostk/stkinfo"
APP_KEY = "kiwoomAppKey-3fa85f64-5717-4562-b3fc-2c963f66afa6"
SECRET_KEY = "kiwoomSecretKey-9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
OK = {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}


def error(code: int, text: str, return_code: int = 2) -> dict:
    return {"return_code": return_code, "return_msg": f"{text}[{code}:{text}]"}


def chart_rows(sessions: Sequence[dt.date], base: int, volume: int = 1_000) -> list[dict]:
    """``stk_dt_pole_chart_qry`` rows (oldest first here): signed prices, value in millions."""
    rows = []
    for number, day in enumerate(sessions):
        close = base + (number % 7) * 10
        sign = "+" if number % 7 else "-"
        rows.append(
            {
                "cur_prc": f"{sign}{close}",
                "trde_qty": str(volume),
                "trde_prica": str(close * volume // 1_000_000),
                "dt": day.strftime("%Y%m%d"),
                "open_pric": f"{sign}{close - 5}",
                "high_pric": f"{sign}{close + 10}",
                "low_pric": f"{sign}{close - 10}",
                "pred_pre": f"{sign}10",
                "pred_pre_sig": "2" if sign == "+" else "5",
                "trde_tern_rt": "+0.01",
            }
        )
    return rows


def listed(code: str, name: str, market: str = "KOSPI", reg_day: str = "19900102") -> dict:
    return {
        "code": code,
        "name": name,
        "listCount": "0000000123759593",
        "auditInfo": "정상",
        "regDay": reg_day,
        "lastPrice": "00050000",
        "state": "증거금20%|담보대출|신용가능",
        "marketCode": "0" if market == "KOSPI" else "10",
        "marketName": "거래소" if market == "KOSPI" else "코스닥",
        "upName": "전기전자",
        "upSizeName": "대형주",
        "companyClassName": "",
        "orderWarning": "0",
        "nxtEnable": "Y",
    }


class FakeKiwoom(Scripted):
    """The fake Kiwoom: ``charts`` by code, ``lists`` by ``mrkt_tp``, scripted misbehaviour."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[dict]] = {}
        self.lists: dict[str, list[dict]] = {}
        self.page_rows = 600
        self.valid_tokens: set[str] = set()
        self._serial = itertools.count(1)

    @property
    def tokens_issued(self) -> int:
        return len(self.seen(TOKEN))

    def key(self, request: Seen) -> str:
        body = request.body if isinstance(request.body, dict) else {}
        if request.path == TOKEN:
            return "token"
        if request.path == LIST:
            return f"list:{body.get('mrkt_tp', '')}"
        return str(body.get("stk_cd", ""))

    def normal(self, request: Seen) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        if request.path == TOKEN:
            if body.get("appkey") != APP_KEY or body.get("secretkey") != SECRET_KEY:
                return json_reply(error(8001, "App Key와 Secret Key 검증에 실패했습니다", 3))
            value = f"kiwoom-token-{next(self._serial)}-WQJCwyqInphKnR3bSRtB9NE1lv"
            self.valid_tokens.add(value)
            expires = (now_kst() + dt.timedelta(hours=24)).strftime("%Y%m%d%H%M%S")
            return json_reply({"expires_dt": expires, "token_type": "bearer", "token": value, **OK})
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in (
            self.valid_tokens
        ):
            return json_reply(error(8005, "Token이 유효하지 않습니다", 3))
        if request.path == CHART and request.headers.get("api-id") == "ka10081":
            if body.get("upd_stkpc_tp") not in ("0", "1"):
                return json_reply(error(1511, "필수 입력 값에 값이 존재하지 않습니다"))
            code, base = str(body.get("stk_cd", "")), str(body.get("base_dt", ""))
            rows = [r for r in reversed(self.charts.get(code, [])) if r["dt"] <= base]
            return self._page(request, rows, {"stk_cd": code}, "stk_dt_pole_chart_qry")
        if request.path == LIST and request.headers.get("api-id") == "ka10099":
            rows = self.lists.get(str(body.get("mrkt_tp", "")), [])
            return self._page(request, rows, {}, "list")
        return json_reply(error(1504, "해당 URI에서는 지원하는 API ID가 아닙니다"))

    def _page(self, request: Seen, rows: list[dict], head: dict, name: str) -> Reply:
        offset = 0
        if request.headers.get("cont-yn") == "Y":
            offset = int(request.headers.get("next-key", "K0").removeprefix("K"))
        page = rows[offset : offset + self.page_rows]
        more = offset + self.page_rows < len(rows)
        headers = {
            "cont-yn": "Y" if more else "N",
            "next-key": f"K{offset + self.page_rows}" if more else "",
            "api-id": request.headers.get("api-id", ""),
        }
        return json_reply({**head, name: page, **OK}, headers=headers)


def build_market(fake: FakeKiwoom, sessions: Sequence[dt.date], n: int) -> list[str]:
    """``n`` KOSPI stocks with charts on ``sessions`` (the last code alphanumeric)."""
    codes = [f"{100_000 + i * 10:06d}" if i < n - 1 else f"{i:04d}Z0" for i in range(n)]
    for number, code in enumerate(codes):
        fake.charts[code] = chart_rows(sessions, base=1_000 + 37 * number, volume=1_000 + number)
    fake.lists["0"] = [listed(code, f"테스트{i}전자") for i, code in enumerate(codes)]
    return codes
