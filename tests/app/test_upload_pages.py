"""Uploads through AppTest (``at.file_uploader(...).upload``): a saved run browsed on every page, a CSV
series and a text trained live, and malformed files of every kind shown as messages, never exceptions.

(Named test_upload_pages.py, not test_uploads.py: tests/test_uploads.py tests rnnviz.uploads itself, and
two test modules with one basename in rootless test folders collide under pytest's default import mode.)
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from conftest import PAGES, assert_no_exception, figure, figures, open_app, session, trace_named, values

from rnnviz.config import ExperimentConfig
from rnnviz.io import run_to_bytes
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}
SHARE = "pages/share.py"


@pytest.fixture(scope="module")
def saved():
    """An LSTM run of 8 steps with 2 probe sequences, as the bytes of its .npz."""
    config = ExperimentConfig(cell="lstm", seq_len=20, hidden_size=16, batch_size=8, probe_size=2, seed=5)
    t = Trainer(config)
    t.step(8)
    return run_to_bytes(t.history), t.history


def plain(md: str) -> str:
    """Markdown text as read (the app backslash-escapes user text)."""
    return re.sub(r"\\(.)", r"\1", md)


def errors_of(at) -> str:
    return plain(" ".join(e.value for e in at.error))


def upload(at, key: str, name: str, data: bytes, mime: str = "application/octet-stream"):
    at.file_uploader(key=key).upload(name, data, mime).run()
    assert_no_exception(at)
    return at


# ------------------------------------------------------------------------------------------ saved runs
def test_a_saved_run_is_browsed_on_every_page_exactly_as_recorded(saved):
    data, original = saved
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.run", "my run.npz", data)
    sess = session(at)
    assert sess.loaded is not None and sess.config == original.config and sess.current_step == 7
    assert any("Browsing" in s.value for s in at.success)
    keys = {b.key for b in at.button}
    assert "ctl.unload" in keys and "ctl.play" not in keys and "ctl.step1" not in keys
    assert all(k.disabled for k in at.sidebar.selectbox if k.key == "cfg.cell")
    assert any("Browsing a saved run" in i.value for i in at.sidebar.info)

    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
    loss = figure(at, "Training loss")
    np.testing.assert_allclose(values(trace_named(loss, "loss")["y"]), original.scalars["loss"], rtol=1e-6)
    assert at.metric[0].value == "7"

    at.switch_page("pages/hidden_states.py").run()
    rec = original.record_at(7, full=True)
    heat = figure(at, "Hidden state h_t")
    z = next(values(t["z"]) for t in heat["data"] if "h =" in t.get("hovertemplate", ""))
    np.testing.assert_allclose(z, rec.hidden[0, 0, 0].astype(np.float32).T, rtol=1e-6)

    at.switch_page("pages/gradient_flow.py").run()
    assert_no_exception(at)
    assert not [f for f in figures(at) if "Transport back" in f["layout"]["title"]["text"]]  # no weights in a file
    assert any("needs the weights" in c.value for c in at.caption)
    flow = figure(at, "Gradient flowing back")
    np.testing.assert_allclose(values(flow["data"][0]["y"]), original.record_at(7).grad_norms[0, 0], rtol=1e-6)

    for page in PAGES:
        at.switch_page(page).run()
        assert_no_exception(at)
        assert session(at).loaded is not None
    at.switch_page("pages/compare.py").run()
    assert any("Compare trains three fresh runs" in i.value for i in at.info)

    at.sidebar.button(key="ctl.unload").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.loaded is None and sess.config == ExperimentConfig(seq_len=20, hidden_size=16, batch_size=8)
    assert "cmp.play" in {b.key for b in at.button}  # back on Compare: the strip plays its three cells


def test_a_run_saved_at_step_0_is_browsed_on_every_page():
    """The status bar reads ``stop_reason`` of what it shows at step 0; a loaded run has one too (it crashed)."""
    t = Trainer(ExperimentConfig(seq_len=20, hidden_size=16, batch_size=8))
    t.step(1)
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.run", "step0.npz", run_to_bytes(t.history))
    assert session(at).loaded is not None and session(at).current_step == 0
    for page in PAGES:
        at.switch_page(page).run()
        assert_no_exception(at)


def test_train_the_loaded_settings_live(saved):
    data, original = saved
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.run", "run.npz", data)
    at.sidebar.button(key="ctl.train_loaded").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.loaded is None and sess.config == original.config
    assert sess.history.scalars["loss"][0] == original.scalars["loss"][0]  # same seed, same step 0


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


def _pickled() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, format=np.array([{"evil": 1}], dtype=object))
    return buf.getvalue()


BAD_RUNS = {
    "text.npz": (b"step,loss\n0,1\n", "not a run file"),
    "foreign-zip.npz": (_zip({"readme.txt": b"hi"}), "only .npy"),
    "foreign.npz": (_npz(weights=np.zeros(3)), "not an rnnviz run"),
    "pickle.npz": (_pickled(), "pickled"),
    "other-format.npz": (_npz(format=np.array("x"), format_version=np.array(1), config_json=np.array(""),
                              meta_json=np.array("{}")), "format must be"),
    "future.npz": (_npz(format=np.array("rnnviz-run"), format_version=np.array(9), config_json=np.array(""),
                        meta_json=np.array("{}")), "version"),
    "bad-config.npz": (_npz(format=np.array("rnnviz-run"), format_version=np.array(1),
                            config_json=np.array('{"cell": "transformer"}'), meta_json=np.array("{}")), "config"),
    "bad-meta.npz": (_npz(format=np.array("rnnviz-run"), format_version=np.array(1), config_json=np.array(""),
                          meta_json=np.array("{oops")), "meta_json"),
}


def test_malformed_run_files_are_messages_and_nothing_is_loaded(saved):
    data, _ = saved
    cases = {**BAD_RUNS, "truncated.npz": (data[: len(data) // 2], "not")}
    at = open_app(SMALL, page=SHARE)
    for name, (content, words) in cases.items():
        upload(at, "upload.run", name, content)
        errors = errors_of(at)
        assert "Could not open" in errors and words in errors, (name, errors)
        assert session(at).loaded is None, name
        at.file_uploader(key="upload.run").clear().run()


# ------------------------------------------------------------------------------------------ CSV
def series_csv(rows: int = 60) -> bytes:
    lines = [f"day{i},{np.sin(i / 3):.6f},{np.cos(i / 5) * 10 + 50:.4f},7" for i in range(rows)]
    return ("date,temp,load,const\n" + "\n".join(lines) + "\n").encode()


def test_a_csv_series_trains_live_and_stays_through_knob_changes():
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.csv", "weather.csv", series_csv(), "text/csv")
    assert any("60 rows × 4 columns (2 usable" in m.value for m in at.markdown)
    assert any("constant at 7" in c.value and "date" in c.value for c in at.caption)
    ms = next(m for m in at.multiselect if m.key.startswith("upload.csv.columns"))
    assert ms.value == ["temp", "load"]
    ms.unselect("load").run()
    at.button(key="upload.csv.train").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.config.task == "csv" and sess.trainer.task.input_size == 1
    expected = np.array([np.sin(i / 3) for i in range(60)])
    np.testing.assert_allclose(sess.data[:, 0], expected, atol=1e-6)
    assert any("now trains on your series" in s.value for s in at.success)
    assert any("uploaded CSV series" in w.value for w in at.warning)  # the link can't carry the data
    at.sidebar.select_slider(key="cfg.hidden_size").set_value(8).run()
    assert_no_exception(at)
    assert session(at).config.hidden_size == 8 and session(at).data is sess.data  # data kept
    at.sidebar.number_input(key="cfg.seq_len.exact").set_value(80).run()  # longer than the 60 rows
    assert_no_exception(at)
    assert "at least seq_len + 1" in plain(" ".join(e.value for e in at.sidebar.error))
    assert session(at).config.seq_len == 20 and session(at).config.task == "csv"
    at.sidebar.selectbox(key="cfg.task").select("adding").run()
    assert_no_exception(at)
    assert session(at).data is None  # another task: the upload no longer applies


def test_choosing_an_unusable_column_is_a_message():
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.csv", "weather.csv", series_csv(), "text/csv")
    next(m for m in at.multiselect if m.key.startswith("upload.csv.columns")).select("const").run()
    at.button(key="upload.csv.train").click().run()
    assert_no_exception(at)
    assert "'const'" in errors_of(at) and "constant" in errors_of(at)
    assert session(at).config.task == "adding"


def test_a_csv_too_short_for_seq_len_is_refused_with_the_rule():
    at = open_app({**SMALL, "seq_len": "100"}, page=SHARE)
    upload(at, "upload.csv", "short.csv", series_csv(30), "text/csv")
    at.button(key="upload.csv.train").click().run()
    assert_no_exception(at)
    assert "at least seq_len + 1 = 101 rows" in errors_of(at)
    assert session(at).config.task == "adding"


def test_a_locked_task_refuses_own_data():
    at = open_app({**SMALL, "lock": "task"}, page=SHARE)
    upload(at, "upload.csv", "weather.csv", series_csv(), "text/csv")
    at.button(key="upload.csv.train").click().run()
    assert_no_exception(at)
    assert "locked" in errors_of(at) and session(at).config.task == "adding"


BAD_CSV = {
    "empty.csv": (b"", "not be empty"),
    "blank.csv": (b"\n \n", "only whitespace"),
    "image.csv": (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    "latin1.csv": ("a,b\n1,é\n".encode("latin-1"), "UTF-8"),
    "header.csv": (b"a,b\n", "data rows"),
    "ragged.csv": (b"a,b\n1,2\n3\n", "2 columns"),
    "quote.csv": (b'a,b\n1,"2\n3,4\n', "well-formed"),
    "wide.csv": (b",".join(b"%d" % i for i in range(300)) + b"\n", "too wide"),
    "long.csv": (b"v\n" + b"\n".join(b"%d" % (i % 9) for i in range(100_010)), "too long"),
    "words.csv": (b"name,city\nann,rome\nbob,oslo\n", "No column"),
    "constant.csv": (b"a,b\n1,1\n1,1\n1,1\n", "No column"),
}


def test_malformed_csv_files_are_messages():
    at = open_app(SMALL, page=SHARE)
    for name, (content, words) in BAD_CSV.items():
        upload(at, "upload.csv", name, content, "text/csv")
        errors = errors_of(at)
        assert words in errors, (name, errors)
        assert not [b for b in at.button if b.key == "upload.csv.train"], name
        at.file_uploader(key="upload.csv").clear().run()
    assert session(at).config.task == "adding"


# ------------------------------------------------------------------------------------------ text
def test_a_text_trains_the_character_model():
    text = "the cat sat on the mat. " * 10
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.text", "poem.txt", text.encode(), "text/plain")
    assert any(f"240 characters, {len(set(text))} distinct" in m.value for m in at.markdown)
    at.button(key="upload.text.train").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.config.task == "charlm" and sess.data == text
    assert sess.trainer.task.vocab == sorted(set(text))
    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
    loss = figure(at, "Training loss")
    assert values(trace_named(loss, "chance baseline")["y"])[0] == pytest.approx(np.log(len(set(text))))


BAD_TEXT = {
    "empty.txt": (b"", "not be empty"),
    "spaces.txt": (b"   \n\t", "only whitespace"),
    "zip.txt": (b"PK\x03\x04\x00\x00\x00", "binary"),
    "cp1252.txt": ("na\xefve caf\xe9 r\xe9sum\xe9 text here".encode("cp1252"), "not UTF-8"),
    "short.txt": (b"hi there", "at least 20"),
    "symbols.txt": ("".join(chr(0x4E00 + i) for i in range(300)).encode(), "at most 256 distinct"),
    "same.txt": (b"z" * 40, "at least 2 distinct"),
}


def test_malformed_text_files_are_messages():
    at = open_app(SMALL, page=SHARE)
    for name, (content, words) in BAD_TEXT.items():
        upload(at, "upload.text", name, content, "text/plain")
        errors = errors_of(at)
        assert words in errors, (name, errors)
        at.file_uploader(key="upload.text").clear().run()
    assert session(at).config.task == "adding"


def test_file_names_are_shown_as_plain_text(saved):
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.text", "[x](javascript:alert(1)).txt", b"hello", "text/plain")
    errors = errors_of(at)
    assert "](javascript" not in errors and "Could not use" in errors


def _holds(value, kinds, depth: int = 0) -> bool:
    """Whether ``value`` (a session_state entry) holds an instance of ``kinds`` (tuples/lists/dicts walked)."""
    if isinstance(value, kinds):
        return True
    if depth < 3 and isinstance(value, tuple | list):
        return any(_holds(v, kinds, depth + 1) for v in value)
    if depth < 3 and isinstance(value, dict):
        return any(_holds(v, kinds, depth + 1) for v in value.values())
    return False


def test_the_upload_memo_keeps_no_bytes_and_back_to_live_frees_the_loaded_run(saved):
    """D3: the memo used to keep the parsed run (and so every array of the file) for the whole session,
    also after "Back to live training"; now the session's loaded run is its only holder."""
    import gc
    import weakref

    from rnnviz.recording import RunHistory

    data, _ = saved
    at = open_app(SMALL, page=SHARE)
    upload(at, "upload.run", "run.npz", data)
    sess = session(at)
    assert sess.loaded is not None
    ref = weakref.ref(sess.loaded.history)
    state = {k: at.session_state[k] for k in at.session_state if k != "upload.run"}
    held = [k for k, v in state.items() if _holds(v, (bytes, bytearray, memoryview, RunHistory))]
    assert held == []
    at.sidebar.button(key="ctl.unload").click().run()
    assert_no_exception(at)
    at.run()  # a rerun after going back: the loaded run's deferred downloads are orphaned
    del sess, state
    gc.collect()
    assert ref() is None


def test_crafted_run_files_are_messages_and_the_app_keeps_running():
    """D3/D4/D7 through the page: each crafted file is refused with its rule; nothing is loaded."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import test_io

    base = test_io.good_arrays()
    cases = {name: (test_io.npz_bytes(**change(base)), words.split(" ")[0].replace("\\", ""))
             for name, (change, words) in test_io.CRAFTED.items()}
    good = test_io.rio.run_to_bytes(test_io.make_history(10))
    cases["2**40 header"] = (test_io._replace_member(good, "scalar/loss", test_io._npy_member(
        (2**40,), np.float64, bytes(80))), "declares shape")
    at = open_app(SMALL, page=SHARE)
    for name, (content, words) in cases.items():
        upload(at, "upload.run", f"{name}.npz", content)
        errors = errors_of(at)
        assert "Could not open" in errors and words in errors, (name, errors)
        assert session(at).loaded is None, name
        at.file_uploader(key="upload.run").clear().run()
    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
