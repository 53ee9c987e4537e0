"""A local stand-in for the KIS Open API and its master files (127.0.0.1 only).

Shapes written from KIS's public documentation (ECOSYSTEM.md §1.4, §1.7; koreainvestment/
open-trading-api ``examples_llm`` and ``stocks_info``):

* ``POST /oauth2/tokenP`` ``{grant_type, appkey, appsecret}`` → ``{access_token, token_type,
  expires_in, access_token_token_expired: "YYYY-MM-DD HH:MM:SS"}``. Refusals are HTTP 403 with
  ``{error_code, error_description}``, as public clients report them: EGW00103 for a wrong app
  key, EGW00105 for a wrong secret, and — when ``token_interval_s`` is set — EGW00133 for a
  token asked within that interval of the last one issued (the server's clock is the real
  monotonic clock plus ``skew_s``, which a test's fake sleep advances);
* ``GET /uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice`` (tr_id FHKST03010100)
  → ``{rt_cd: "0", msg_cd, msg1, output1, output2: [...]}``, newest first, at most
  ``page_rows`` rows between ``FID_INPUT_DATE_1`` and ``FID_INPUT_DATE_2``;
* ``GET …/inquire-daily-indexchartprice`` (tr_id FHKUP03500100) → ``output2`` with decimals;
* ``GET /master/kospi_code.mst.zip`` / ``kosdaq_code.mst.zip`` → a zip of CP949 fixed-width
  records built field by field from the published layouts (`master_line`).

A request with a token the server did not issue (or revoked) gets the expired-token reply, as
HTTP 401 or, with ``stale_status = 200``, as ``rt_cd 1 / EGW00123`` in a 200 body.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import time
import zipfile
from collections.abc import Sequence

from scanctl.clock import now_kst
from tests.providers.scripted_server import Reply, Scripted, Seen, json_reply

CHART = "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice"
INDEX = "/uapi/domestic-stock/v1/quotations/inquire-daily-indexchartprice"
TOKEN = "/oauth2/tokenP"
APP_KEY = "PSkisAppKeyForTests0123456789abcdef"
APP_SECRET = "kisSecretValueForTests/+=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# (field, width) of the fixed tail, in file order: 종목마스터정보(코스피).h / (코스닥).h
KOSPI_FIELDS = [
    ("scrt_grp_cls_code", 2), ("avls_scal_cls_code", 1), ("bstp_larg_div_code", 4),
    ("bstp_medm_div_code", 4), ("bstp_smal_div_code", 4), ("mnin_cls_code_yn", 1),
    ("low_current_yn", 1), ("sprn_strr_nmix_issu_yn", 1), ("kospi200_apnt_cls_code", 1),
    ("kospi100_issu_yn", 1), ("kospi50_issu_yn", 1), ("krx_issu_yn", 1),
    ("etp_prod_cls_code", 1), ("elw_pblc_yn", 1), ("krx100_issu_yn", 1), ("krx_car_yn", 1),
    ("krx_smcn_yn", 1), ("krx_bio_yn", 1), ("krx_bank_yn", 1), ("etpr_undt_objt_co_yn", 1),
    ("krx_enrg_chms_yn", 1), ("krx_stel_yn", 1), ("short_over_cls_code", 1),
    ("krx_medi_cmnc_yn", 1), ("krx_cnst_yn", 1), ("krx_fnnc_svc_yn", 1), ("krx_scrt_yn", 1),
    ("krx_ship_yn", 1), ("krx_insu_yn", 1), ("krx_trnp_yn", 1), ("sri_nmix_yn", 1),
    ("stck_sdpr", 9), ("frml_mrkt_deal_qty_unit", 5), ("ovtm_mrkt_deal_qty_unit", 5),
    ("trht_yn", 1), ("sltr_yn", 1), ("mang_issu_yn", 1), ("mrkt_alrm_cls_code", 2),
    ("mrkt_alrm_risk_adnt_yn", 1), ("insn_pbnt_yn", 1), ("byps_lstn_yn", 1),
    ("flng_cls_code", 2), ("fcam_mod_cls_code", 2), ("icic_cls_code", 2), ("marg_rate", 3),
    ("crdt_able", 1), ("crdt_days", 3), ("prdy_vol", 12), ("stck_fcam", 12),
    ("stck_lstn_date", 8), ("lstn_stcn", 15), ("cpfn", 21), ("stac_month", 2), ("po_prc", 7),
    ("prst_cls_code", 1), ("ssts_hot_yn", 1), ("stange_runup_yn", 1), ("krx300_issu_yn", 1),
    ("kospi_issu_yn", 1), ("sale_account", 9), ("bsop_prfi", 9), ("op_prfi", 9),
    ("thtr_ntin", 5), ("roe", 9), ("base_date", 8), ("prdy_avls_scal", 9), ("grp_code", 3),
    ("co_crdt_limt_over_yn", 1), ("secu_lend_able_yn", 1), ("stln_able_yn", 1),
]  # fmt: skip
KOSDAQ_FIELDS = [
    ("scrt_grp_cls_code", 2), ("avls_scal_cls_code", 1), ("bstp_larg_div_code", 4),
    ("bstp_medm_div_code", 4), ("bstp_smal_div_code", 4), ("vntr_issu_yn", 1),
    ("low_current_yn", 1), ("krx_issu_yn", 1), ("etp_prod_cls_code", 1), ("krx100_issu_yn", 1),
    ("krx_car_yn", 1), ("krx_smcn_yn", 1), ("krx_bio_yn", 1), ("krx_bank_yn", 1),
    ("etpr_undt_objt_co_yn", 1), ("krx_enrg_chms_yn", 1), ("krx_stel_yn", 1),
    ("short_over_cls_code", 1), ("krx_medi_cmnc_yn", 1), ("krx_cnst_yn", 1),
    ("invt_alrm_yn", 1), ("krx_scrt_yn", 1), ("krx_ship_yn", 1), ("krx_insu_yn", 1),
    ("krx_trnp_yn", 1), ("ksq150_nmix_yn", 1), ("stck_sdpr", 9), ("frml_mrkt_deal_qty_unit", 5),
    ("ovtm_mrkt_deal_qty_unit", 5), ("trht_yn", 1), ("sltr_yn", 1), ("mang_issu_yn", 1),
    ("mrkt_alrm_cls_code", 2), ("mrkt_alrm_risk_adnt_yn", 1), ("insn_pbnt_yn", 1),
    ("byps_lstn_yn", 1), ("flng_cls_code", 2), ("fcam_mod_cls_code", 2), ("icic_cls_code", 2),
    ("marg_rate", 3), ("crdt_able", 1), ("crdt_days", 3), ("prdy_vol", 12), ("stck_fcam", 12),
    ("stck_lstn_date", 8), ("lstn_stcn", 15), ("cpfn", 21), ("stac_month", 2), ("po_prc", 7),
    ("prst_cls_code", 1), ("ssts_hot_yn", 1), ("stange_runup_yn", 1), ("krx300_issu_yn", 1),
    ("sale_account", 9), ("bsop_prfi", 9), ("op_prfi", 9), ("thtr_ntin", 5), ("roe", 9),
    ("base_date", 8), ("prdy_avls_scal", 9), ("grp_code", 3), ("co_crdt_limt_over_yn", 1),
    ("secu_lend_able_yn", 1), ("stln_able_yn", 1),
]  # fmt: skip
FIELDS = {"KOSPI": KOSPI_FIELDS, "KOSDAQ": KOSDAQ_FIELDS}
STEMS = {"KOSPI": "kospi_code", "KOSDAQ": "kosdaq_code"}


def master_line(market: str, code: str, name: str, **values: str) -> bytes:
    """One CP949 record: code (9), ISIN (12), the name padded to 40 bytes, the fixed tail with
    plausible defaults (``N`` flags, zeros, group ST, market warning 00) and ``values``."""
    defaults = {"scrt_grp_cls_code": "ST", "mrkt_alrm_cls_code": "00", "stck_sdpr": "000050000"}
    defaults |= {"stck_lstn_date": "19900102", "base_date": "20250930", "grp_code": "000"}
    tail = []
    for field, width in FIELDS[market]:
        default = "N" if field.endswith("_yn") else "0" * width
        value = values.pop(field, defaults.get(field, default))
        assert len(value) == width, (field, value)
        tail.append(value)
    assert not values, f"unknown fields {sorted(values)}"
    isin = f"KR7{code}00"[:12].ljust(12, "0")
    head = code.ljust(9).encode() + isin.encode() + name.encode("cp949").ljust(40, b" ")
    return head + "".join(tail).encode("ascii")


def master_zip(market: str, lines: Sequence[bytes], member: str | None = None) -> bytes:
    """A master download: ``<stem>.mst`` (CRLF lines, as the DOS-born files are) in a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member or f"{STEMS[market]}.mst", b"\r\n".join(lines) + b"\r\n")
    return buffer.getvalue()


def compact(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def chart_rows(sessions: Sequence[dt.date], base: int, volume: int = 1_000) -> list[dict]:
    """``output2`` rows (oldest first here; served newest first): a saw-tooth around ``base``."""
    rows = []
    for number, day in enumerate(sessions):
        close = base + (number % 7) * 10
        rows.append(
            {
                "stck_bsop_date": compact(day),
                "stck_clpr": str(close),
                "stck_oprc": str(close - 5),
                "stck_hgpr": str(close + 10),
                "stck_lwpr": str(close - 10),
                "acml_vol": str(volume),
                "acml_tr_pbmn": str(close * volume),
                "flng_cls_code": "00",
                "prtt_rate": "0.00",
                "mod_yn": "N",
                "prdy_vrss_sign": "3",
                "prdy_vrss": "0",
                "revl_issu_reas": "",
            }
        )
    return rows


class FakeKis(Scripted):
    """The fake KIS API: ``charts`` by code, ``indexes`` by sector code, ``masters`` by market."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[dict]] = {}
        self.indexes: dict[str, list[dict]] = {}
        self.masters: dict[str, bytes] = {}
        self.page_rows = 100
        self.valid_tokens: set[str] = set()
        self.stale_status = 401
        self.token_interval_s: float | None = None
        self.skew_s = 0.0
        self.issued_at: float | None = None
        self._serial = itertools.count(1)

    @property
    def tokens_issued(self) -> int:
        return len(self.seen(TOKEN))

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    def key(self, request: Seen) -> str:
        if request.path == TOKEN:
            return "token"
        if request.path.startswith("/master/"):
            return request.path.rsplit("/", 1)[-1]
        return request.args.get("FID_INPUT_ISCD", "")

    def normal(self, request: Seen) -> Reply:
        if request.path == TOKEN:
            return self._token(request.body or {})
        if request.path.startswith("/master/"):
            name = request.path.rsplit("/", 1)[-1]
            for market, stem in STEMS.items():
                if name == f"{stem}.mst.zip" and market in self.masters:
                    return Reply(body=self.masters[market], content_type="application/zip")
            return Reply(404, b"no such file", content_type="text/plain")
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            expired = {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."}
            return json_reply(expired, status=self.stale_status)
        if request.headers.get("appkey") != APP_KEY or request.headers.get("appsecret") != (
            APP_SECRET
        ):
            return json_reply({"rt_cd": "1", "msg_cd": "EGW00103", "msg1": "appkey"}, 403)
        if request.path == CHART:
            return self._chart(request, CHART, "FHKST03010100", self.charts)
        if request.path == INDEX:
            return self._chart(request, INDEX, "FHKUP03500100", self.indexes)
        return Reply(404, b"not found", content_type="text/plain")

    def clock(self) -> float:
        """The server's time (seconds): the monotonic clock plus ``skew_s``."""
        return time.monotonic() + self.skew_s

    def issue_token(self) -> str:
        """A valid token, as if issued now to another client of the same key."""
        value = f"eyJ0eXAiOiJKV1QiLCJ.kis-token-{next(self._serial)}.sig"
        self.valid_tokens.add(value)
        self.issued_at = self.clock()
        return value

    def _token(self, body: dict) -> Reply:
        if body.get("appkey") != APP_KEY:
            error = {"error_description": "유효하지 않은 AppKey입니다.", "error_code": "EGW00103"}
            return json_reply(error, status=403)
        if body.get("appsecret") != APP_SECRET:
            error = {
                "error_description": "유효하지 않은 AppSecret입니다.",
                "error_code": "EGW00105",
            }
            return json_reply(error, status=403)
        now = self.clock()
        if (
            self.token_interval_s is not None
            and self.issued_at is not None
            and now - self.issued_at < self.token_interval_s
        ):
            error = {
                "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                "error_code": "EGW00133",
            }
            return json_reply(error, status=403)
        value = self.issue_token()
        expires = (now_kst() + dt.timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S")
        payload = {
            "access_token": value,
            "access_token_token_expired": expires,
            "token_type": "Bearer",
            "expires_in": 86400,
        }
        return json_reply(payload)

    def _chart(self, request: Seen, path: str, tr_id: str, data: dict) -> Reply:
        args = request.args
        if request.headers.get("tr_id") != tr_id:
            return json_reply({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "tr_id"})
        first, last = args.get("FID_INPUT_DATE_1", ""), args.get("FID_INPUT_DATE_2", "")
        code = args.get("FID_INPUT_ISCD", "")
        rows = [r for r in data.get(code, []) if first <= r["stck_bsop_date"] <= last]
        page = list(reversed(rows))[: self.page_rows]
        payload = {
            "output1": {"stck_shrn_iscd": args.get("FID_INPUT_ISCD", ""), "hts_kor_isnm": "x"},
            "output2": page,
            "rt_cd": "0",
            "msg_cd": "MCA00000",
            "msg1": "정상처리 되었습니다.",
        }
        return json_reply(payload)


def index_rows(sessions: Sequence[dt.date], level: int) -> list[dict]:
    return [
        {
            "stck_bsop_date": compact(day),
            "bstp_nmix_prpr": f"{level + n}.75",
            "bstp_nmix_oprc": f"{level + n}.15",
            "bstp_nmix_hgpr": f"{level + n + 9}.50",
            "bstp_nmix_lwpr": f"{level + n - 9}.25",
            "acml_vol": "385014",
            "acml_tr_pbmn": "9000000",
            "mod_yn": "N",
        }
        for n, day in enumerate(sessions)
    ]


def build_market(
    fake: FakeKis, sessions: Sequence[dt.date], n_kospi: int, n_kosdaq: int
) -> list[str]:
    """``n_kospi`` + ``n_kosdaq`` common stocks in the master files with charts on ``sessions``
    (the last code of each market alphanumeric) and both index charts; returns the codes."""
    codes = []
    lines: dict[str, list[bytes]] = {"KOSPI": [], "KOSDAQ": []}
    for number in range(n_kospi + n_kosdaq):
        market = "KOSPI" if number < n_kospi else "KOSDAQ"
        last = number in (n_kospi - 1, n_kospi + n_kosdaq - 1)
        code = f"{number:04d}Z0" if last else f"{100_000 + number * 10:06d}"
        lines[market].append(master_line(market, code, f"테스트{number}전자"))
        fake.charts[code] = chart_rows(sessions, base=1_000 + 37 * number, volume=1_000 + number)
        codes.append(code)
    fake.masters = {market: master_zip(market, rows) for market, rows in lines.items()}
    fake.indexes["0001"] = index_rows(sessions, 2_500)
    fake.indexes["1001"] = index_rows(sessions, 700)
    return codes
