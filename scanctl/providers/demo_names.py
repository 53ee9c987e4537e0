"""Names of the demo market's tickers: sector words, ETF brands and themes, ETNs, SPACs, REITs.

Kept apart from the price model in `demo` so each module stays readable; the tables are data.
"""

from __future__ import annotations

import numpy as np

# Name endings per sector: a stock's sector drives both its factor and its name.
SECTORS = (
    ("반도체", "세미콘", "머티리얼즈", "테크"), ("전자", "디스플레이", "정보통신", "시스템"),
    ("화학", "케미칼", "소재", "에너지솔루션"), ("바이오", "제약", "메디칼", "헬스케어", "파마"),
    ("모비스", "오토텍", "자동차부품", "정공"), ("중공업", "기계", "조선", "정밀"),
    ("건설", "산업개발", "이앤씨", "건영"), ("금융지주", "증권", "화재", "생명", "캐피탈"),
    ("엔터테인먼트", "게임즈", "미디어", "스튜디오"), ("식품", "제과", "유통", "패션", "코스메틱"),
    ("에너지", "가스", "전력", "솔라"), ("철강", "스틸", "제지", "금속"),
)  # fmt: skip
_PREFIXES = [
    first + second
    for first in "한대동삼신세우태광성영진일미금현효국유청제상고수화경중남서보"
    for second in "국성진영화일신원흥창양도우림광산명한보"
]  # 한국, 대성, …
_PREFIXES += ["에이치엘", "케이씨", "에스앤", "제이엔", "디엔", "아이씨", "엘앤", "비엠", "티에스"]
# ETFs: these five first, then brand × (theme, style, sector) with KODEX and TIGER first.
_ETF_FIRST = (
    ("KODEX 200", "index"), ("KODEX 코스닥150", "kosdaq"), ("KODEX 레버리지", "lev"),
    ("KODEX 인버스", "inv"), ("KODEX 200선물인버스2X", "inv2x"),
)  # fmt: skip
_ETF_BRANDS = ("KODEX", "TIGER", "ACE", "SOL", "RISE", "PLUS", "HANARO", "KIWOOM", "1Q")
_ETF_THEMES = (
    ("200TR", "index", -1), ("코스피100", "index", -1), ("고배당", "index", -1),
    ("반도체", "sector", 0), ("IT", "sector", 1), ("2차전지산업", "sector", 2),
    ("바이오", "sector", 3), ("자동차", "sector", 4), ("조선TOP10", "sector", 5),
    ("건설", "sector", 6), ("은행", "sector", 7), ("게임산업", "sector", 8),
    ("필수소비재", "sector", 9), ("에너지화학", "sector", 10), ("철강", "sector", 11),
    ("200선물레버리지", "lev", -1), ("코스닥150레버리지", "kq_lev", -1),
    ("200선물인버스", "inv", -1), ("코스닥150선물인버스", "kq_inv", -1), ("국고채3년", "bond", -1),
    ("CD금리액티브(합성)", "bond", -1), ("머니마켓액티브", "bond", -1),
    ("미국S&P500", "foreign", -1), ("미국나스닥100", "foreign", -1), ("KRX금현물", "foreign", -1),
)  # fmt: skip
_ETN_ISSUERS = ("신한", "삼성", "미래에셋", "KB", "한투", "NH", "메리츠")
_ETN_UNDERLYINGS = ("천연가스 선물", "구리 선물", "금 선물(H)", "레버리지 S&P500", "인버스 WTI원유")
_SPAC_BROKERS = ("하나", "교보", "신한", "유안타", "키움", "삼성", "한국", "대신밸런스", "DB금융")
_REITS = ("신한알파", "롯데", "ESR켄달스퀘어", "제이알글로벌", "코람코더원", "이지스밸류", "SK")


def assign_names(
    rng: np.random.Generator, kind: np.ndarray, sector: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Names (a preferred's comes later) and fund styles; a sector ETF takes its theme's sector."""
    names = [""] * len(kind)
    styles = np.where(np.isin(kind, ("etn", "reit", "spac")), kind, "stock").astype(object)
    pool = [
        (f"{brand} {theme}", style, sec, (b > 1) + rng.random())
        for b, brand in enumerate(_ETF_BRANDS)
        for theme, style, sec in _ETF_THEMES
    ]
    funds = [(name, style, -1, 0.0) for name, style in _ETF_FIRST]
    funds += sorted(pool, key=lambda fund: fund[3])
    for col, (name, style, sec, _) in zip(np.flatnonzero(kind == "etf"), funds, strict=False):
        names[col], styles[col], sector[col] = name, style, sec if sec >= 0 else sector[col]
    etns, n_etn_names = np.flatnonzero(kind == "etn"), len(_ETN_ISSUERS) * len(_ETN_UNDERLYINGS)
    for col, j in zip(etns, rng.permutation(n_etn_names), strict=False):
        names[col] = f"{_ETN_ISSUERS[j % 7]} {_ETN_UNDERLYINGS[j // 7]} ETN"
    for i, col in enumerate(np.flatnonzero(kind == "reit")):
        series = f"{i // len(_REITS) + 1}호" if i >= len(_REITS) else ""
        names[col] = f"{_REITS[i % len(_REITS)]}{series}리츠"
    brokers = len(_SPAC_BROKERS)
    for col, j in zip(np.flatnonzero(kind == "spac"), rng.permutation(brokers * 40), strict=False):
        names[col] = f"{_SPAC_BROKERS[j % brokers]}스팩{j // brokers + 1}호"
    used = set(names)
    for col in np.flatnonzero(kind == "stock"):
        endings = SECTORS[sector[col]]
        while not names[col] or names[col] in used:
            ending = "홀딩스" if rng.random() < 0.04 else endings[rng.integers(len(endings))]
            names[col] = _PREFIXES[rng.integers(len(_PREFIXES))] + ending
        used.add(names[col])
    return names, styles
