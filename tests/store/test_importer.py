import datetime as dt
import gzip

import pytest

from scanctl.errors import BadInput
from scanctl.store.importer import CHUNK_ROWS, import_files, read_files

HEADER = "date,ticker,open,high,low,close,volume\n"


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def counts(db):
    return tuple(
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("bars", "tickers", "index_bars")
    )


def test_import_all_three_files(db, tmp_path):
    bars = write(
        tmp_path / "b.csv.gz",
        HEADER + "2025-01-02,005930,100,110,90,105,1000\n20250103,0126Z0,50,55,45,52,10\n",
        gz=True,
    )
    tickers = write(
        tmp_path / "t.csv",
        "ticker,name,market,security_type,managed,halted\n"
        "005930,삼성전자,KOSPI,stock,0,0\n0126Z0,알파,KOSDAQ,,1,false\n",
    )
    indexes = write(
        tmp_path / "i.csv",
        "date,index,open,high,low,close,volume\n2025-01-02,KOSPI,2400.5,2410,2390.25,2405.75,1\n",
    )
    report = import_files(db, bars, tickers, indexes)
    assert (report.bars, report.tickers, report.index_bars) == (2, 2, 1)
    assert (report.first_date, report.last_date) == ("2025-01-02", "2025-01-03")
    assert db.execute("SELECT date, close, value FROM bars WHERE code='0126Z0'").fetchall() == [
        ("2025-01-03", 52, None)
    ]
    assert db.execute(
        "SELECT name, market, security_type, managed, halted FROM tickers WHERE code='0126Z0'"
    ).fetchone() == ("알파", "KOSDAQ", None, 1, 0)
    assert db.execute("SELECT close FROM index_bars").fetchone() == (2405.75,)


def test_reimport_is_idempotent_and_updates(db, tmp_path):
    bars = write(tmp_path / "b.csv", HEADER + "2025-01-02,005930,100,110,90,105,1000\n")
    import_files(db, bars)
    import_files(db, bars)
    assert counts(db) == (1, 0, 0)
    write(bars, HEADER + "2025-01-02,005930,100,110,90,107,1000\n")
    import_files(db, bars)
    assert db.execute("SELECT close FROM bars").fetchall() == [(107,)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2025-13-02,005930,100,110,90,105,1000", "line 3: bad date"),
        ("2025-01-03,5930,100,110,90,105,1000", "line 3: ticker must be 6 characters"),
        ("2025-01-03,005930,0,110,90,105,1000", "line 3: open must be positive"),
        ("2025-01-03,005930,100,104,90,105,1000", r"line 3: high < max\(open, close\)"),
        ("2025-01-03,005930,100,110,101,105,1000", r"line 3: low > min\(open, close\)"),
        ("2025-01-03,005930,100,110,90,105,-1", "line 3: negative volume"),
        ("2025-01-03,005930,100,110,90,10x,1000", "line 3: close is not an integer"),
        ("2025-01-02,005930,100,110,90,105,1000", r"line 3: duplicate \(date, ticker\)"),
        # what used to land as -9223372036854775808 with exit 0
        ("2025-01-03,005930,100,1e30,90,105,1000", r"line 3: high is out of range"),
        ("2025-01-03,005930,100,110,90,105,1e20", r"line 3: volume is out of range"),
        ("2025-01-03,005930,100,110,90,105,9223372036854775808", "line 3: volume is out of range"),
        ("2025-01-03,005930,-1e30,110,90,105,1000", "line 3: open is out of range"),
        ("2025-01-03,005930,100,inf,90,105,1000", "line 3: high is not finite"),
        ("2025-01-03,005930,100,110,-Infinity,105,1000", "line 3: low is not finite"),
        ("2025-01-03,005930,100,110,90,nan,1000", "line 3: close is not an integer"),
        ("2025-01-03,005930,100,110,90,105.5,1000", "line 3: close is not an integer"),
        ("2025-01-03,005930,100,110,90,105,1e16+1", "line 3: volume is not an integer"),
        ("2025-01-03,005930,100,110,90,105,12345678901234567.5", "volume is not an integer"),
        ("2025-01-03,005930,-5,110,90,105,1000", "line 3: open must be positive"),
        ("2025-01-03,005930,100,80,90,100,1000", "line 3: .*high < low"),
        ("2025-01-03,005930,100,110,90,105,", "line 3: volume is not an integer"),
    ],
)
def test_bad_row_is_reported_and_nothing_written(db, tmp_path, line, message):
    good = "2025-01-02,005930,100,110,90,105,1000\n"
    bars = write(tmp_path / "b.csv", HEADER + good + line + "\n")
    tickers = write(tmp_path / "t.csv", "ticker,name,market\n000660,SK하이닉스,KOSPI\n")
    with pytest.raises(BadInput, match=message):
        import_files(db, bars, tickers)
    assert counts(db) == (0, 0, 0)


def test_many_bad_rows_are_summarised(db, tmp_path):
    lines = "".join(f"2025-01-{d:02d},005930,0,110,90,105,1000\n" for d in range(1, 9))
    bars = write(tmp_path / "b.csv", HEADER + lines)
    with pytest.raises(BadInput, match=r"8 invalid row\(s\).*line 2: .*\(\+3 more\)"):
        import_files(db, bars)


def test_missing_file_and_bad_header(db, tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        import_files(db, tmp_path / "missing.csv")
    bad = write(tmp_path / "h.csv", "date,code,close\n2025-01-02,005930,1\n")
    with pytest.raises(BadInput, match="missing column"):
        import_files(db, bad)
    empty = write(tmp_path / "e.csv", "")
    with pytest.raises(BadInput, match="empty"):
        import_files(db, empty)


def test_bad_ticker_rows(db, tmp_path):
    tickers = write(
        tmp_path / "t.csv",
        "ticker,name,market,security_type\n005930,A,NYSE,stock\n000660,B,KOSPI,bond\n",
    )
    with pytest.raises(BadInput, match="line 2: market must be one of.*line 3: security_type"):
        import_files(db, None, tickers)
    assert counts(db) == (0, 0, 0)


def test_real_data_imports_cleanly(real_krx_import):
    _, report = real_krx_import  # import_files of the three files into a new store, once
    assert report.bars == 222_379
    assert report.tickers == 610
    assert report.index_bars == 1_452
    assert (report.first_date, report.last_date) == ("2023-02-07", "2025-11-28")


def test_integers_are_stored_exactly_up_to_the_64_bit_limit(db, tmp_path):
    bars = write(
        tmp_path / "b.csv",
        "date,ticker,open,high,low,close,volume,value\n"
        "2025-01-02,005930,100,110,90,105.0,9223372036854775807,9007199254740993\n"
        "2025-01-03,005930,100,110,90,105,1e3,\n",
    )
    import_files(db, bars)
    assert db.execute("SELECT close, volume, value FROM bars ORDER BY date").fetchall() == [
        (105, 9223372036854775807, 9007199254740993),
        (105, 1000, None),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "line 2: negative value"),
        ("1e20", "line 2: value is out of range"),
        ("inf", "line 2: value is not finite"),
        ("1.5", "line 2: value is not an integer"),
    ],
)
def test_bad_value_column(db, tmp_path, value, message):
    bars = write(
        tmp_path / "b.csv",
        f"date,ticker,open,high,low,close,volume,value\n2025-01-02,005930,1,2,1,2,3,{value}\n",
    )
    with pytest.raises(BadInput, match=message):
        import_files(db, bars)
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2025-01-03,KOSPI,2400,inf,2390,2405,1", "line 3: high is not finite"),
        ("2025-01-03,KOSPI,2400,2410,2390,1e999,1", "line 3: close is not finite"),
        ("2025-01-03,KOSPI,nan,2410,2390,2405,1", "line 3: open is not a number"),
        ("2025-01-03,KOSPI,2400,2410,-2390,2405,1", "line 3: low must be positive"),
        ("2025-01-03,KOSPI,2400,2380,2390,2400,1", "line 3: .*high < low"),
        ("2025-01-03,KOSPI,2400,2410,2390,2405,-1", "line 3: negative volume"),
        ("2025-01-03,KOSPI,2400,2410,2390,2405,1e20", "line 3: volume is out of range"),
    ],
)
def test_bad_index_row_stores_nothing_of_any_file(db, tmp_path, line, message):
    bars = write(tmp_path / "b.csv", HEADER + "2025-01-02,005930,100,110,90,105,1000\n")
    tickers = write(tmp_path / "t.csv", "ticker,name,market\n005930,삼성전자,KOSPI\n")
    indexes = write(
        tmp_path / "i.csv",
        "date,index,open,high,low,close,volume\n2025-01-02,KOSPI,2400,2410,2390,2405,\n"
        + line
        + "\n",
    )
    with pytest.raises(BadInput, match=rf"i.csv: 1 invalid row\(s\), nothing imported; {message}"):
        import_files(db, bars, tickers, indexes)
    assert counts(db) == (0, 0, 0)


def test_bad_ticker_row_stores_nothing_of_the_valid_bars(db, tmp_path):
    bars = write(tmp_path / "b.csv", HEADER + "2025-01-02,005930,100,110,90,105,1000\n")
    tickers = write(
        tmp_path / "t.csv",
        "ticker,name,market,managed\n005930,삼성전자,KOSPI,0\n000660,SK하이닉스,KOSPI,maybe\n",
    )
    with pytest.raises(BadInput, match="line 3: managed must be 0/1"):
        import_files(db, bars, tickers)
    assert counts(db) == (0, 0, 0)


def test_read_files_validates_without_a_store(tmp_path):
    bars = write(tmp_path / "b.csv", HEADER + "2025-01-02,005930,100,110,90,105,1000\n")
    batch = read_files(bars)
    assert list(batch.bars.rows()) == [("2025-01-02", "005930", 100, 110, 90, 105, 1000, None)]
    assert (batch.tickers, batch.index_bars) == ([], [])


def many_rows(count: int) -> list[str]:
    """``count`` valid bar lines: 1,000 tickers a date, dates from 2020-01-01."""
    start = dt.date(2020, 1, 1)
    return [
        f"{start + dt.timedelta(days=k // 1000)},{k % 1000:06d},100,110,90,105,{k}"
        for k in range(count)
    ]


def test_rows_past_the_first_chunk_are_checked_with_their_line(db, tmp_path):
    lines = many_rows(CHUNK_ROWS + 10)
    lines[CHUNK_ROWS + 3] = lines[5]  # a duplicate of line 7, on line CHUNK_ROWS + 5
    lines[CHUNK_ROWS + 7] = lines[CHUNK_ROWS + 7].replace(",110,", ",80,")
    bars = write(tmp_path / "b.csv", HEADER + "\n".join(lines) + "\n")
    with pytest.raises(BadInput) as error:
        import_files(db, bars)
    assert str(error.value) == (
        f"b.csv: 2 invalid row(s), nothing imported; line {CHUNK_ROWS + 5}: duplicate (date, "
        f"ticker); line {CHUNK_ROWS + 9}: high < low, high < max(open, close)"
    )
    assert counts(db) == (0, 0, 0)


def test_a_number_written_otherwise_past_the_first_chunk_is_read_exactly(tmp_path):
    lines = many_rows(CHUNK_ROWS + 2)
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",9007199254740993.0"  # 2**53 + 1
    bars = read_files(write(tmp_path / "b.csv", HEADER + "\n".join(lines) + "\n"))
    assert len(bars.bars) == CHUNK_ROWS + 2
    assert list(bars.bars.rows(CHUNK_ROWS)) == [
        ("2020-04-10", "000000", 100, 110, 90, 105, CHUNK_ROWS, None),
        ("2020-04-10", "000001", 100, 110, 90, 105, 9007199254740993, None),
    ]
