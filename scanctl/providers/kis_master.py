"""The KIS stock master files: the ticker master with every exclusion flag, no credentials needed.

``GET {master_url}/kospi_code.mst.zip`` and ``…/kosdaq_code.mst.zip`` (public, no auth; default
host ``https://new.real.download.dws.co.kr/common/master``) each hold one ``*.mst`` member: CP949
text, one issue per line. The layout is published by KIS (koreainvestment/open-trading-api
``stocks_info/종목마스터정보(코스피).h`` and ``(코스닥).h``; ECOSYSTEM.md §1.7):

* a head of variable length: short code (9 characters, the code then spaces), standard code
  (ISIN, 12), Korean name (the rest);
* a fixed tail of ASCII fields, 227 characters for KOSPI and 221 for KOSDAQ, sliced from the end
  of the line (the name's width varies once decoded).

Fields read from the tail and how they become `TickerRow` fields:

======================  ==========  ==========  =============================================
field                   KOSPI       KOSDAQ      use
======================  ==========  ==========  =============================================
scrt_grp_cls_code       0–1         0–1         security group (ST, EF, RT, MF, …)
etp_prod_cls_code       22          18          3 / 4 → ETN
etpr_undt_objt_co_yn    29          24          Y → SPAC
trht_yn                 60          55          Y → ``halted``
sltr_yn                 61          56          Y (liquidation trading) → ``managed``
mang_issu_yn            62          57          Y → ``managed``
mrkt_alrm_cls_code      63–64       58–59       01 caution, 02 warning, 03 risk (kept in the
                                                record; the ticker master has no column)
stck_lstn_date          105–112     100–107     ``listed_on``
prst_cls_code           158         153         1 / 2 → preferred
======================  ==========  ==========  =============================================

``security_type``: ETN when the ETP class is 3 or 4; ``etf`` for groups EF / FE; ``spac`` for the
SPAC flag; group ST → ``preferred`` when the preferred class is 1 or 2, else ``stock``; FS
(foreign shares) → ``stock``; RT → ``reit``; MF, SC, IF, BC → ``fund``; anything else (DR, EW, SW,
SR, …) → ``other``. Issues in liquidation trading (정리매매, the days before delisting) count as
managed, so the default engines exclude them.

Codes are kept as the file spells them when they are 6 digits or capital letters (``0126Z0``);
other short codes are skipped and logged. The whole file is refused (`PayloadError`) when it is
not a zip holding the expected member, is not CP949, or has a record whose tail does not parse.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from scanctl.logs import get_logger
from scanctl.providers.base import PayloadError, SourceBlocked, TickerRow
from scanctl.providers.http import HttpResponse

log = get_logger("providers.kis_master")

MASTER_FILES = {"KOSPI": "kospi_code", "KOSDAQ": "kosdaq_code"}
MAX_MEMBER_BYTES = 64_000_000  # the real files are ~1 MB; anything huge is not a master file
CODE = re.compile(r"^[0-9A-Z]{6}$")
_GROUP = re.compile(r"^[A-Z]{2}$")
_FLAG = frozenset("YN ")
_HTML = re.compile(rb"^\s*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I)
_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_GROUP_TYPES = {
    "EF": "etf",
    "FE": "etf",
    "RT": "reit",
    "MF": "fund",
    "SC": "fund",
    "IF": "fund",
    "BC": "fund",
    "FS": "stock",
}


@dataclass(frozen=True)
class Layout:
    """Offsets inside one market's fixed tail (see the module table)."""

    tail: int
    etp: int
    spac: int
    halted: int
    liquidation: int
    managed: int
    warning: int
    listed: int
    preferred: int


LAYOUTS = {
    "KOSPI": Layout(227, 22, 29, 60, 61, 62, 63, 105, 158),
    "KOSDAQ": Layout(221, 18, 24, 55, 56, 57, 58, 100, 153),
}
HEAD = 21  # short code (9) + ISIN (12) before the name


@dataclass(frozen=True)
class MasterRecord:
    """One issue of a master file, with the raw codes behind the flags."""

    code: str
    isin: str
    name: str
    market: str
    group: str
    etp_class: str
    spac: bool
    halted: bool
    liquidation: bool
    managed: bool
    market_warning: str  # "00" none, "01" caution, "02" warning, "03" risk
    listed_on: str | None
    preferred_class: str

    @property
    def security_type(self) -> str:
        if self.etp_class in ("3", "4") or self.group == "EN":
            return "etn"
        if self.group in ("EF", "FE"):
            return "etf"
        if self.spac:
            return "spac"
        if self.group == "ST":
            return "preferred" if self.preferred_class in ("1", "2") else "stock"
        return _GROUP_TYPES.get(self.group, "other")

    def ticker(self) -> TickerRow:
        return TickerRow(
            code=self.code,
            name=self.name or None,
            market=self.market,
            security_type=self.security_type,
            managed=self.managed or self.liquidation,
            halted=self.halted,
            listed_on=self.listed_on,
        )


def check_zip(response: HttpResponse) -> None:
    """``check`` for a master download: a zip, not a block page (HTML) or something else."""
    head = response.content[:2048]
    if head.startswith(b"PK\x03\x04"):
        return
    if _HTML.match(head):
        raise SourceBlocked(f"kis: block page instead of a master file from {response.where}")
    raise PayloadError(
        f"kis: {response.where}: not a zip file ({len(response.content):,} bytes); "
        "truncated or garbled download"
    )


def read_master(content: bytes, market: str) -> list[MasterRecord]:
    """The records of one downloaded ``*.mst.zip``.

    Raises
    ------
    PayloadError
        Not a zip, no ``<stem>.mst`` member, a member too large, or a record that does not parse.
    """
    stem = MASTER_FILES[market]
    where = f"kis: master {stem}.mst.zip"
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = {info.filename.lower(): info for info in archive.infolist()}
            info = members.get(f"{stem}.mst")
            if info is None:
                names = ", ".join(sorted(members)[:5]) or "none"
                raise PayloadError(f"{where}: no {stem}.mst inside (members: {names[:120]})")
            if info.file_size > MAX_MEMBER_BYTES:
                raise PayloadError(f"{where}: {stem}.mst claims {info.file_size:,} bytes")
            data = archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise PayloadError(
            f"{where}: unreadable zip ({type(exc).__name__}); truncated or garbled download"
        ) from None
    return parse_master(data, market)


def parse_master(data: bytes, market: str) -> list[MasterRecord]:
    """The records of one ``*.mst`` file (CP949 bytes); unusable codes are skipped and logged.

    Raises
    ------
    PayloadError
        Not CP949, empty, or a record too short or misaligned (garbled, truncated).
    """
    stem = MASTER_FILES[market]
    where = f"kis: master {stem}.mst"
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PayloadError(f"{where}: line {line} is not CP949 text; garbled file") from None
    layout = LAYOUTS[market]
    records: dict[str, MasterRecord] = {}
    skipped: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        record = _record(line, number, market, layout, where)
        if not CODE.match(record.code):
            skipped.append(record.code[:9])
            continue
        records.setdefault(record.code, record)
    if not records:
        raise PayloadError(f"{where}: no issue with a 6-character code in {len(data):,} bytes")
    if skipped:
        fields = {"market": market, "skipped": len(skipped), "codes": ",".join(skipped[:10])}
        log.info("master rows without a 6-character code skipped", extra={"fields": fields})
    return list(records.values())


def _record(line: str, number: int, market: str, layout: Layout, where: str) -> MasterRecord:
    if len(line) <= HEAD + layout.tail:
        raise PayloadError(
            f"{where}: line {number} has {len(line)} characters, expected more than "
            f"{HEAD + layout.tail}; truncated or garbled file"
        )
    head, tail = line[: -layout.tail], line[-layout.tail :]
    if not tail.isascii():
        raise PayloadError(f"{where}: line {number}: non-ASCII fixed fields; misaligned record")
    group = tail[0:2]
    flags = [tail[i] for i in (layout.spac, layout.halted, layout.liquidation, layout.managed)]
    if not _GROUP.match(group) or any(flag not in _FLAG for flag in flags):
        raise PayloadError(
            f"{where}: line {number}: group {group!r} and flags {''.join(flags)!r} are not "
            "codes; misaligned or garbled record"
        )
    return MasterRecord(
        code=head[0:9].strip(),
        isin=head[9:HEAD].strip(),
        name=" ".join(head[HEAD:].split()),
        market=market,
        group=group,
        etp_class=tail[layout.etp],
        spac=flags[0] == "Y",
        halted=flags[1] == "Y",
        liquidation=flags[2] == "Y",
        managed=flags[3] == "Y",
        market_warning=tail[layout.warning : layout.warning + 2].strip() or "00",
        listed_on=_iso_day(tail[layout.listed : layout.listed + 8]),
        preferred_class=tail[layout.preferred],
    )


def _iso_day(text: str) -> str | None:
    match = _DAY.match(text.strip())
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None
