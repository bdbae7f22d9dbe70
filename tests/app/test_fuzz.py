"""Fuzz through the app: 1,000 random query strings and 500 random uploads, zero uncaught exceptions.

One AppTest is reused (a fresh session per query string: the session key is dropped so the next run
reads the URL again), which keeps 1,000 cases to a couple of minutes. Query strings mix real field
names, instructor flags and presets with random and hostile values; uploads mix random bytes,
CSV-like and text-like content and corrupted saved runs, into each of the three uploaders.
"""

from __future__ import annotations

import io
import random
import string
import zipfile

import pytest
from conftest import assert_no_exception, open_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnviz.config import FIELDS, PRESETS
from rnnviz.trainer import limit_threads
from ui.state import SESSION_KEY

limit_threads(1)

KEYS = [*FIELDS, "preset", "lock", "hide", "bogus", "", "seq_len ", "SEQ_LEN", "cell[]"]
HOSTILE = ["", " ", "nan", "inf", "-inf", "1e309", "-1", "0", "1e-320", "999999999999999999999", "0x10", "١٢",
           "true", "None", "[]", "{}", "<script>alert(1)</script>", "**bold**", "$x$", "\\", "%00", "\u202e",
           "lstm,gru", "a" * 300, "../../etc/passwd"]


def value_for(rng: random.Random, key: str) -> str:
    field = FIELDS.get(key)
    kind = rng.random()
    if kind < 0.35:
        return rng.choice(HOSTILE)
    if kind < 0.5:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 12)))
    if key == "preset":
        return rng.choice([*PRESETS, "nope"])
    if key in ("lock", "hide"):
        return ",".join(rng.sample([*FIELDS, "preset", "play", "reset", "upload", "download", "x"], rng.randint(0, 4)))
    if field is None:
        return str(rng.random())
    if field.kind == "choice":
        return rng.choice([*field.choices, "x"])
    if field.kind == "bool":
        return rng.choice(["0", "1", "yes", "maybe"])
    lo, hi = field.lo, field.hi
    # mostly small sizes (valid values of huge sizes are legal but slow to build), some far out of range
    if field.kind == "int" and key in ("hidden_size", "seq_len", "batch_size", "probe_size", "num_layers"):
        return str(rng.choice([lo, lo + 1, 3, 8, hi + 1, -5]))
    return str(rng.uniform(lo - (hi - lo), hi + (hi - lo)))


def random_query(rng: random.Random) -> dict[str, str]:
    return {k: value_for(rng, k) for k in rng.sample(KEYS, rng.randint(0, 6))}


def test_1000_random_query_strings_never_raise_in_the_app():
    rng = random.Random(20261121)
    at = open_app({"seq_len": "8", "hidden_size": "4"})
    for case in range(1000):
        query = random_query(rng)
        del at.session_state[SESSION_KEY]  # a new visitor: the next run reads the URL
        at.query_params.clear()
        at.query_params.update(query)
        at.run()
        assert not at.exception, (case, query, [e.value for e in at.exception])
        assert at.session_state[SESSION_KEY].current_step == 0


def _csv_like(rng: random.Random) -> bytes:
    rows = rng.randint(0, 40)
    cols = rng.randint(0, 6)
    cells = [rng.choice(["1", "2.5", "-3e4", "", "nan", "x", "1,5", '"q"', "inf"]) for _ in range(rows * cols)]
    sep = rng.choice([",", ";", "\t", "|", " "])
    lines = [sep.join(cells[r * cols:(r + 1) * cols]) for r in range(rows)]
    return "\n".join(lines).encode(rng.choice(["utf-8", "utf-16", "latin-1"]), errors="replace")


def _text_like(rng: random.Random) -> bytes:
    text = "".join(rng.choice(string.printable + "éλ中\u0000\ufeff") for _ in range(rng.randint(0, 200)))
    return text.encode(rng.choice(["utf-8", "utf-16", "utf-32", "cp1252"]), errors="replace")


def _npz_like(rng: random.Random) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k in range(rng.randint(0, 3)):
            z.writestr(rng.choice(["meta.npy", "config.npy", f"a{k}.npy", "x.pkl"]), rng.randbytes(rng.randint(0, 64)))
    data = buf.getvalue()
    return data[: rng.randint(0, len(data))] if rng.random() < 0.5 else data


@pytest.fixture(scope="module")
def share_page():
    return open_app({"seq_len": "8", "hidden_size": "4"}, page="pages/share.py")


UPLOADERS = (("upload.run", "run.npz"), ("upload.csv", "series.csv"), ("upload.text", "story.txt"))


@settings(max_examples=500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(UPLOADERS),
       kind=st.sampled_from(["bytes", "csv", "text", "npz"]))
def test_500_random_uploads_never_raise_in_the_app(share_page, seed, which, kind):
    rng = random.Random(seed)
    data = {"bytes": lambda: rng.randbytes(rng.randint(0, 512)), "csv": lambda: _csv_like(rng),
            "text": lambda: _text_like(rng), "npz": lambda: _npz_like(rng)}[kind]()
    key, name = which
    at = share_page
    at.file_uploader(key=key).upload(name, data, "application/octet-stream").run()
    assert_no_exception(at)
    at.file_uploader(key=key).clear().run()
    assert_no_exception(at)
