"""Message rendering: Korean date, headline = max count, per-version lines, top_n, gates."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from scanctl.config import Config
from scanctl.notify.config import NotifySettings, load_notify_settings
from scanctl.notify.message import (
    Message,
    daily_message,
    failure_message,
    korean_date,
)
from scanctl.notify.message import test_message as make_test_message

DAY = dt.date(2025, 11, 3)


def pick(rank, code, name, score=None, strategy=None):
    return {
        "ticker": code,
        "name": name,
        "market": "KOSPI",
        "engine": "v2",
        "rank": rank,
        "score": score,
        "score_label": "추천",
        "strategy": strategy,
        "close": 71000,
        "flags": {"label": "추천"},
    }


V2_PICKS = [
    pick(2, "000660", "SK하이닉스", 81.25, "스윙"),
    pick(1, "005930", "삼성전자", 87.5, "포지션"),
    pick(3, "035420", "NAVER", 70.0, "스윙"),
    pick(4, "0126Z0", "삼성에피스홀딩스", 65.0, "관찰"),
]
V3_PICKS = [pick(1, "042700", "한미반도체", None, "midterm")]


def versions(**overrides):
    base = {
        "v2": {"status": "ok", "matched_count": 4, "picks": V2_PICKS},
        "v3": {"status": "ok", "matched_count": 1, "picks": V3_PICKS},
    }
    base.update(overrides)
    return base


def test_korean_date_is_zero_padded():
    assert korean_date(DAY) == "2025년 11월 03일"
    assert korean_date(dt.date(2026, 1, 9)) == "2026년 01월 09일"


def test_daily_message_default_text():
    message = daily_message(DAY, versions(), NotifySettings(top_n=3))
    assert message.kind == "daily" and message.date == DAY
    assert message.text == (
        "[scanctl] 2025년 11월 03일 스캔 결과\n"
        "추천 종목 4개\n"
        "\n"
        "■ v2: 4개\n"
        " 1. 삼성전자(005930) 87.5점 · 포지션\n"
        " 2. SK하이닉스(000660) 81.2점 · 스윙\n"
        " 3. NAVER(035420) 70.0점 · 스윙\n"
        " 외 1개\n"
        "■ v3: 1개\n"
        " 1. 한미반도체(042700) · midterm"
    )
    assert message.variables == {
        "#{s_date}": "2025년 11월 03일",
        "#{s_num}": "4",
        "#{c_name}": "고객님",
    }
    assert message.data["count"] == 4
    assert [p["ticker"] for p in message.data["versions"]["v2"]["picks"]] == [
        "005930",
        "000660",
        "035420",
    ]


def test_headline_is_the_max_over_successful_versions_only():
    summary = versions(
        v1={"status": "failed", "matched_count": 99, "picks": [], "error": "boom"},
        v3={"status": "ok", "matched_count": 7, "picks": V3_PICKS},
    )
    message = daily_message(DAY, summary, NotifySettings(top_n=1, c_name="홍길동"))
    assert message.variables["#{s_num}"] == "7"
    assert message.variables["#{c_name}"] == "홍길동"
    lines = message.text.splitlines()
    assert lines[1] == "추천 종목 7개"
    assert "■ v1: 실패" in lines
    assert "■ v2: 4개" in lines and "■ v3: 7개" in lines
    assert lines.index("■ v1: 실패") < lines.index("■ v2: 4개") < lines.index("■ v3: 7개")
    assert " 외 3개" in lines


def test_top_n_zero_lists_counts_only_and_zero_matches_say_so():
    summary = versions(v3={"status": "ok", "matched_count": 0, "picks": []})
    message = daily_message(DAY, summary, NotifySettings(top_n=0))
    assert message.text.splitlines()[3:] == ["■ v2: 4개", "■ v3: 0개 (추천종목 없음)"]


@pytest.mark.parametrize(
    ("summary", "min_matched", "sent"),
    [
        ({"v2": {"status": "failed", "matched_count": 0, "picks": []}}, 1, False),
        ({"v2": {"status": "ok", "matched_count": 0, "picks": []}}, 1, False),
        ({"v2": {"status": "ok", "matched_count": 0, "picks": []}}, 0, True),
        ({"v2": {"status": "ok", "matched_count": 3, "picks": []}}, 4, False),
        ({"v2": {"status": "ok", "matched_count": 4, "picks": []}}, 4, True),
        ({}, 0, False),
    ],
)
def test_min_matched_gate(summary, min_matched, sent):
    message = daily_message(DAY, summary, NotifySettings(min_matched=min_matched))
    assert (message is not None) == sent


def test_numpy_values_in_picks_survive_json():
    numpy_pick = {**pick(1, "005930", "삼성전자"), "rank": np.int64(1), "score": np.float64(9.5)}
    nan_pick = {**pick(2, "000660", "SK하이닉스"), "rank": np.int64(2), "score": np.float64("nan")}
    summary = {
        "v1": {"status": "ok", "matched_count": np.int64(2), "picks": [nan_pick, numpy_pick]}
    }
    message = daily_message(DAY, summary, NotifySettings())
    stored = json.loads(message.to_json())
    assert [p["score"] for p in stored["data"]["versions"]["v1"]["picks"]] == [9.5, None]
    assert " 2. SK하이닉스(000660)" in message.text.splitlines()


def test_custom_template(tmp_path):
    (tmp_path / "t.txt").write_text("오늘({date}) {count}종목 {{알림}}\n{versions}\n", "utf-8")
    settings = load_notify_settings(
        Config(sections={"notify": {"template": str(tmp_path / "t.txt")}})
    )
    message = daily_message(DAY, versions(), settings)
    assert message.text.startswith("오늘(2025년 11월 03일) 4종목 {알림}\n■ v2: 4개\n")


def test_failure_message():
    message = failure_message(DAY, {"v3": "ValueError: bad window", "v1": "x" * 900})
    assert message.kind == "failure"
    lines = message.text.splitlines()
    assert lines[0] == "[scanctl] 2025년 11월 03일 스캔 실패: v1, v3"
    assert lines[1].startswith("■ v1: xxx") and len(lines[1]) == len("■ v1: ") + 500
    assert lines[2] == "■ v3: ValueError: bad window"
    assert message.variables["#{s_num}"] == "2"
    assert message.data == {"failures": {"v1": "x" * 499 + "…", "v3": "ValueError: bad window"}}


def test_test_message_and_round_trip():
    now = dt.datetime(2025, 11, 28, 18, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    message = make_test_message(now)
    assert message.kind == "test" and message.date == dt.date(2025, 11, 28)
    assert message.text.startswith("[scanctl] 테스트 메시지 2025년 11월 28일 18:05")
    assert Message.from_json(message.to_json()) == message


def test_bad_kind_and_bad_payload():
    with pytest.raises(ValueError, match="message kind 'weekly'"):
        Message(kind="weekly", date=DAY, text="")
    with pytest.raises(ValueError, match="not a stored message"):
        Message.from_json('{"kind": "daily"}')
