"""rnnviz.uploads: CSV series, text and run files from bytes; every bad file a clear RnnvizError."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from rnnviz import uploads
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.io import run_to_bytes
from rnnviz.tasks import make_task
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)


def series_csv(rows: int = 40, header: str = "time,temp,load\n") -> bytes:
    t = np.arange(rows)
    lines = [f"2024-01-01T{i % 24:02d},{np.sin(i / 3):.6f},{np.cos(i / 5) * 10 + 50:.4f}" for i in t]
    return (header + "\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------------------------------ CSV
def test_csv_with_header_and_a_date_column():
    table = uploads.parse_csv(series_csv())
    assert table.header and table.names == ("time", "temp", "load") and table.rows == 40
    assert table.usable == ["temp", "load"]
    assert "not a number" in table.problems["time"] and "row 1" in table.problems["time"]
    arr = uploads.select_columns(table, ["temp", "load"])
    assert arr.shape == (40, 2) and arr.dtype == np.float64
    assert arr[3, 0] == pytest.approx(np.sin(1.0), abs=1e-6)


def test_csv_without_header_semicolons_and_crlf_and_bom():
    data = "\ufeff" + "\r\n".join(f"{i};{i * i % 7}" for i in range(30)) + "\r\n"
    table = uploads.parse_csv(data.encode("utf-8"))
    assert not table.header and table.delimiter == ";"
    assert table.names == ("column 1", "column 2") and table.rows == 30
    np.testing.assert_array_equal(table.values["column 1"], np.arange(30))


def test_csv_utf16_and_tabs_and_blank_lines():
    data = "a\tb\n\n" + "\n".join(f"{i}\t{(-1) ** i}" for i in range(10)) + "\n\n"
    table = uploads.parse_csv(data.encode("utf-16"))
    assert table.delimiter == "\t" and table.rows == 10 and table.usable == ["a", "b"]


def test_csv_duplicate_and_blank_header_names_are_made_unique():
    table = uploads.parse_csv(b"x,x,\n1,2,3\n2,3,5\n4,1,1\n")
    assert table.names == ("x", "x (2)", "column 3")


def test_selected_csv_trains_the_csv_task():
    arr = uploads.select_columns(uploads.parse_csv(series_csv(60)), ["temp"])
    config = ExperimentConfig(task="csv", seq_len=20, hidden_size=8, batch_size=4)
    task = make_task(config, arr)
    assert task.input_size == 1
    t = Trainer(config, data=arr)
    t.step(2)
    assert np.isfinite(t.history.scalars["loss"]).all()


BAD_CSV = {
    "empty": (b"", "not be empty"),
    "whitespace": (b"  \n\n \t\n", "contain numbers"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a binary file"),
    "latin-1": ("temp,load\n1,2\n3,é\n".encode("latin-1"), "be UTF-8"),
    "broken utf-16": (b"\xff\xfe1\x00,\x00\x00\xd8", "UTF-16"),
    "header only": (b"a,b,c\n", "data rows"),
    "ragged": (b"a,b\n1,2\n3\n4,5\n", "have the 2 columns"),
    "too long": ("v\n" + "\n".join(str(i % 7) for i in range(uploads.MAX_CSV_ROWS + 5))).encode(),
    "too wide": (",".join(str(i) for i in range(300)).encode() + b"\n" + ",".join("1" for _ in range(300)).encode()),
    "unterminated quote": (b'a,b\n1,"2\n3,4\n', "well-formed CSV"),
    "too large": (b"1,2\n" * (uploads.MAX_UPLOAD_BYTES // 4 + 1), "at most 5 MB"),
    "not bytes": ("a,b\n1,2\n", "uploaded bytes"),
}
BAD_CSV["too long"] = (BAD_CSV["too long"], "too long")
BAD_CSV["too wide"] = (BAD_CSV["too wide"], "too wide")


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_malformed_csv_files_raise_a_clear_error(case):
    data, words = BAD_CSV[case]
    with pytest.raises(RnnvizError) as err:
        uploads.parse_csv(data)
    assert words in str(err.value) and " got " in str(err.value)


BAD_COLUMNS = {
    "text column": (b"a,b\n1,x\n2,y\n3,z\n", ["b"], "not a number"),
    "missing value": (b"a,b\n1,2\n2,\n3,4\n", ["b"], "missing value in row 2"),
    "nan": (b"a,b\n1,2\n2,nan\n3,4\n", ["b"], "not finite"),
    "inf": (b"a,b\n1,2\n2,-inf\n3,4\n", ["b"], "not finite"),
    "constant": (b"a,b\n1,5\n2,5\n3,5\n", ["b"], "constant at 5"),
    "underscore digits": (b"a,b\n1,1_000\n2,3\n3,4\n", ["b"], "not a number"),
    "none chosen": (b"a,b\n1,2\n2,3\n3,5\n", [], "at least one column"),
    "unknown column": (b"a,b\n1,2\n2,3\n3,5\n", ["c"], "be one of"),
    "chosen twice": (b"a,b\n1,2\n2,3\n3,5\n", ["a", "a"], "each column once"),
    "too short": (b"a\n1\n2\n", ["a"], "at least 3 rows"),
    "too many columns": (",".join(f"c{j}" for j in range(40)).encode() + b"\n"
                         + b"\n".join(",".join(str((i * j) % 11 + j) for j in range(40)).encode() for i in range(5)),
                         [f"c{j}" for j in range(40)], "too wide"),
}


def _column_csv(values) -> bytes:
    return ("a,b\n" + "\n".join(f"{i},{v!r}" for i, v in enumerate(values)) + "\n").encode()


SPREAD = {  # D9: what the message says about columns that vary too little or overflow
    "tiny range": ([i * 1e-300 for i in range(1000)], "range too small to learn (9.99e-298, from 0 to 9.99e-298"),
    "huge alternating": ([(-1) ** i * 1e308 for i in range(100)], "values overflow when normalized (they reach 1e+308"),
    "huge squares": ([i * 1e160 for i in range(100)], "values overflow"),
    "small wiggle on 1": ([1 + (i % 2) * 1e-13 for i in range(100)], "range too small to learn (9.99e-14"),
    "constant": ([5.0] * 50, "constant at 5 "),
}


@pytest.mark.parametrize("case", sorted(SPREAD))
def test_a_column_that_cannot_be_normalized_says_why(case):
    values, words = SPREAD[case]
    table = uploads.parse_csv(_column_csv(values))
    assert table.usable == ["a"]
    assert words in table.problems["b"]
    assert "constant" not in table.problems["b"] or case == "constant"


@pytest.mark.parametrize("values", [[i * 1e-11 for i in range(100)], [(-1) ** i * 1e150 for i in range(100)],
                                    [i * 1e-300 for i in range(100)], [1 + (i % 2) * 1e-13 for i in range(100)],
                                    [(-1) ** i * 1e308 for i in range(100)], [1e-9 * (i % 3) for i in range(100)]])
def test_a_column_is_usable_exactly_when_the_csv_task_accepts_it(values):
    table = uploads.parse_csv(_column_csv(values))
    config = ExperimentConfig(task="csv", seq_len=20)
    try:
        make_task(config, np.asarray(values)[:, None])
        accepted = True
    except RnnvizError:
        accepted = False
    assert ("b" in table.usable) == accepted, table.problems


@pytest.mark.parametrize("case", sorted(BAD_COLUMNS))
def test_unusable_column_choices_raise_a_clear_error(case):
    data, columns, words = BAD_COLUMNS[case]
    table = uploads.parse_csv(data)
    with pytest.raises(RnnvizError) as err:
        uploads.select_columns(table, columns)
    assert words in str(err.value)


def test_a_series_shorter_than_seq_len_is_refused_by_the_task_with_the_rule():
    arr = uploads.select_columns(uploads.parse_csv(series_csv(10)), ["temp"])
    with pytest.raises(RnnvizError, match="at least seq_len"):
        make_task(ExperimentConfig(task="csv", seq_len=20), arr)


# ------------------------------------------------------------------------------------------ text
def test_text_is_decoded_and_newlines_normalised():
    text = uploads.decode_text("héllo wörld\r\nsecond line\rthird line\n".encode())
    assert text == "héllo wörld\nsecond line\nthird line\n"
    assert uploads.decode_text("the quick brown fox jumps".encode("utf-16")) == "the quick brown fox jumps"
    assert uploads.decode_text(b"\xef\xbb\xbfthe quick brown fox jumps") == "the quick brown fox jumps"


def test_text_trains_the_character_model():
    text = uploads.decode_text(("to be or not to be, that is the question. " * 5).encode())
    t = Trainer(ExperimentConfig(task="charlm", seq_len=20, hidden_size=8, batch_size=4), data=text)
    t.step(1)
    assert t.task.input_size == len(set(text))


BAD_TEXT = {
    "empty": (b"", "not be empty"),
    "whitespace": (b" \n\t\n   ", "only whitespace"),
    "binary": (b"PK\x03\x04\x00\x00 some zip", "binary data"),
    "cp1252": ("caf\xe9 au lait, na\xefve r\xe9sum\xe9 text".encode("cp1252"), "not UTF-8"),
    "too short": (b"hello", "at least 20"),
    "too long": (b"ab" * 600_000, "at most 1,000,000"),
    "too many symbols": ("".join(chr(0x4E00 + i) for i in range(400)).encode(), "at most 256 distinct"),
    "one symbol": (b"a" * 50, "at least 2 distinct"),
    "too large": (b"a" * (uploads.MAX_UPLOAD_BYTES + 1), "at most 5 MB"),
}


@pytest.mark.parametrize("case", sorted(BAD_TEXT))
def test_malformed_text_files_raise_a_clear_error(case):
    data, words = BAD_TEXT[case]
    with pytest.raises(RnnvizError) as err:
        uploads.decode_text(data)
    assert words in str(err.value)


# ------------------------------------------------------------------------------------------ runs
@pytest.fixture(scope="module")
def run_bytes():
    t = Trainer(ExperimentConfig(cell="lstm", seq_len=20, hidden_size=8, batch_size=4))
    t.step(3)
    return run_to_bytes(t.history), t.history


def test_a_saved_run_reads_back(run_bytes):
    data, hist = run_bytes
    loaded = uploads.read_run(data)
    assert loaded.config == hist.config
    np.testing.assert_array_equal(loaded.scalars["loss"], hist.scalars["loss"])


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


BAD_RUNS = {
    "empty": b"",
    "text": b"step,loss\n0,1.0\n",
    "truncated": None,  # filled from the fixture
    "foreign zip": _zip({"readme.txt": b"hello"}),
    "foreign npz": _npz(weights=np.zeros(3)),
    "pickled object": None,
    "wrong format": _npz(format=np.array("other"), format_version=np.array(1), config_json=np.array(""),
                         meta_json=np.array("{}")),
    "future version": _npz(format=np.array("rnnviz-run"), format_version=np.array(99),
                           config_json=np.array(""), meta_json=np.array("{}")),
    "bad config": _npz(format=np.array("rnnviz-run"), format_version=np.array(1),
                       config_json=np.array('{"hidden_size": 9999}'), meta_json=np.array("{}")),
    "no config": None,
    "too large": b"PK" + b"\x00" * uploads.MAX_UPLOAD_BYTES,
}


@pytest.mark.parametrize("case", sorted(BAD_RUNS))
def test_malformed_run_files_raise_a_clear_error(case, run_bytes):
    data = BAD_RUNS[case]
    good, hist = run_bytes
    if case == "truncated":
        data = good[: len(good) // 2]
    elif case == "pickled object":
        buf = io.BytesIO()
        np.savez(buf, format=np.array([{"evil": 1}], dtype=object))
        data = buf.getvalue()
    elif case == "no config":
        import json

        with np.load(io.BytesIO(good)) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["config_json"] = np.array("")
        json.loads(str(arrays["meta_json"][()]))
        data = _npz(**arrays)
    with pytest.raises(RnnvizError) as err:
        uploads.read_run(data)
    assert str(err.value)


def test_display_names_carry_no_path_or_markup():
    assert uploads.display_name("../../etc/passwd") == "passwd"
    assert uploads.display_name("C:\\Users\\me\\report.csv") == "report.csv"
    assert "[" not in uploads.display_name("[evil](javascript:x).csv")
    assert "`" not in uploads.display_name("a`b`.npz") and "<" not in uploads.display_name("<script>.txt")
    assert len(uploads.display_name("x" * 500)) <= 60
    assert uploads.display_name("") == "upload"
