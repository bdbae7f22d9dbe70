"""Share & data through AppTest: the link round trip, URL notices, instructor flags, downloads."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from conftest import assert_no_exception, open_app, session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from streamlit.runtime.media_file_manager import MediaFileManager

from rnnviz.config import FIELDS, PRESETS, ExperimentConfig
from rnnviz.io import load_run
from rnnviz.trainer import Trainer, limit_threads
from ui.state import InstructorFlags

limit_threads(1)
SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}
SHARE = "pages/share.py"


@pytest.fixture
def deferred(monkeypatch):
    """Every deferred download callable the app registers, by its file id (AppTest's media manager
    is dropped after each run, so keep them here)."""
    store = {}
    original = MediaFileManager.add_deferred

    def add(self, data_callable, *args, **kwargs):
        file_id = original(self, data_callable, *args, **kwargs)
        store[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add)
    return store


def download(at, key: str, store) -> bytes:
    """Click-equivalent: call the button's deferred data, as the server does on a click."""
    btn = at.get("download_button")
    matches = [b for b in btn if b.proto.id.endswith(key) or getattr(b, "key", None) == key]
    assert matches, f"no download button {key!r}; have {[b.key for b in btn]}"
    assert not matches[0].proto.disabled
    data = store[matches[0].proto.deferred_file_id]()
    return data.encode() if isinstance(data, str) else data


def shared_link(at) -> str:
    return next(c.value for c in at.code if c.value.startswith("http"))


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


# ------------------------------------------------------------------------------------------ the link
def test_a_link_reproduces_the_run_exactly():
    query = {**SMALL, "cell": "gru", "seed": "11", "init": "scaled", "rho": "1.3", "lr": "0.003"}
    at = open_app(query, page=SHARE)
    sess = session(at)
    expected = ExperimentConfig(cell="gru", seed=11, init="scaled", rho=1.3, lr=0.003, seq_len=20, hidden_size=16,
                                batch_size=8)
    assert sess.config == expected
    alone = Trainer(expected)
    alone.step(1)
    np.testing.assert_array_equal(sess.history.scalars["loss"], alone.history.scalars["loss"])
    np.testing.assert_array_equal(sess.history.record_at(0).grad_norms, alone.history.record_at(0).grad_norms)
    np.testing.assert_array_equal(sess.history.record_at(0, full=True).hidden,
                                  alone.history.record_at(0, full=True).hidden)
    # the page shows the link, and the link parses back to the same config
    link = shared_link(at)
    assert query_of(link) == expected.to_params()
    assert ExperimentConfig.from_params(query_of(link), strict=True)[0] == expected
    assert any("copy icon" in c.value.lower() for c in at.caption)


def test_a_knob_change_rewrites_the_link_and_a_preset_link_stays_short():
    at = open_app(SMALL, page=SHARE)
    at.sidebar.selectbox(key="cfg.cell").select("lstm").run()
    assert_no_exception(at)
    assert query_of(shared_link(at)) == session(at).config.to_params()
    assert query_of(shared_link(at))["cell"] == "lstm"
    at.sidebar.selectbox(key="cfg.preset").select("irnn").run()
    assert query_of(shared_link(at)) == {"preset": "irnn"}
    at2 = open_app({"preset": "irnn"})
    assert session(at2).config == PRESETS["irnn"].config


@pytest.mark.parametrize("spelling", ["Vanishing_Tanh", " VANISHING-tanh ", "vanishing_tanh"])
def test_a_preset_link_in_any_spelling_shows_that_preset_not_custom(spelling):
    """Defect: ``preset=Vanishing_Tanh`` ran the preset but the picker said "custom"."""
    at = open_app({"preset": spelling})
    assert_no_exception(at)
    assert session(at).config == PRESETS["vanishing-tanh"].config
    assert at.sidebar.selectbox(key="cfg.preset").value == "vanishing-tanh"
    assert query_of(shared_link(open_app({"preset": spelling}, page=SHARE))) == {"preset": "vanishing-tanh"}


def test_bad_link_parameters_are_named_ignored_and_dismissible():
    at = open_app({**SMALL, "rho": "abc", "hidden_size": "9999", "colour": "red", "cell": "transformer",
                   "lock": "cell,warp"})
    sess = session(at)
    assert sess.config == ExperimentConfig(seq_len=20, batch_size=8)  # bad ones at their defaults
    text = " ".join(w.value for w in at.warning)
    assert "ignored" in text
    for words in ("**rho**", "got 'abc'", "using the default 1.0", "**hidden\\_size**", "9999", "**colour**",
                  "not a config field", "**cell**", "transformer", "warp"):
        assert words in text, words
    assert at.sidebar.selectbox(key="cfg.cell").disabled  # the good part of lock= applies
    at.button(key="notices.dismiss").click().run()
    assert_no_exception(at)
    assert not at.warning and not any("ignored" in m.value for m in at.markdown)
    at.run()
    assert not at.warning  # stays dismissed


def test_a_misspelt_view_is_reported_like_other_bad_values():
    """Defect: ``view=presnt`` was silently ignored while other typos were named."""
    at = open_app({**SMALL, "view": "presnt"})
    assert_no_exception(at)
    text = " ".join(w.value for w in at.warning)
    assert "**view**" in text and "presnt" in text and "present" in text and "ignored" in text, text
    assert not at.session_state["rnnviz.view"] == "present"
    assert not open_app({**SMALL, "view": "present"}).warning  # the right spelling: no notice


def test_link_notices_cannot_inject_markup():
    at = open_app({"[click](http://evil.example)": "1", "rho": "<b>x</b>"})
    text = " ".join(w.value for w in at.warning)
    assert "\\[click\\]" in text and "\\<b\\>" in text  # escaped: shown as typed, no link, no tag
    assert "[click](" not in text and "<b>" not in text


def test_instructor_flags_are_not_config_notices():
    at = open_app({**SMALL, "lock": "cell", "hide": "optimizer"})
    assert not at.warning
    assert query_of(shared_link(at.switch_page(SHARE).run()))["lock"] == "cell"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.text(alphabet=hs.characters(codec="utf-8"), max_size=200)
       | hs.lists(hs.tuples(hs.sampled_from([*FIELDS, "preset", "lock", "hide", "x", ""]),
                            hs.text(max_size=12) | hs.sampled_from(["nan", "inf", "-1", "1e308", "0x10", "True",
                                                                    "LSTM", "scaled", "3.0", "1_0"])),
                  max_size=12).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv)))
def test_any_query_string_gives_a_valid_config_and_never_raises(query):
    params = parse_qs(query, keep_blank_values=True)
    config, problems = ExperimentConfig.from_params(params)
    assert isinstance(config, ExperimentConfig)
    assert ExperimentConfig.from_params(config.to_params(), strict=True)[0] == config
    assert all(isinstance(p, str) and p for p in problems)
    flags, flag_problems = InstructorFlags.from_params({k: v[-1] for k, v in params.items()})
    assert flags.locked <= set(InstructorFlags.CONTROLS) and flags.hidden <= set(InstructorFlags.CONTROLS)


# ------------------------------------------------------------------------------------------ instructor mode
def _knob(at, name):
    for kind in ("selectbox", "slider", "select_slider", "number_input", "toggle"):
        found = [w for w in at.sidebar.get(kind) if getattr(w, "key", None) == f"cfg.{name}"]
        if found:
            return found[0]
    return None


def test_every_config_field_can_be_locked():
    at = open_app({**SMALL, "lock": ",".join(FIELDS)})
    for name in FIELDS:
        knob = _knob(at, name)
        assert knob is not None and knob.disabled, name
    assert not at.sidebar.selectbox(key="cfg.preset").disabled  # presets that change nothing locked: none
    assert at.sidebar.selectbox(key="cfg.preset").options == ["— your own settings —"]


def test_every_config_field_can_be_hidden():
    at = open_app({**SMALL, "hide": ",".join(FIELDS)})
    for name in FIELDS:
        assert _knob(at, name) is None, name


@pytest.mark.parametrize("name", ["cell", "rho", "optimizer", "seed"])
def test_one_locked_or_hidden_field_leaves_the_others_alone(name):
    at = open_app({**SMALL, "lock": name})
    assert _knob(at, name).disabled
    assert not _knob(at, "hidden_size").disabled and not _knob(at, "lr").disabled
    at = open_app({**SMALL, "hide": name})
    assert _knob(at, name) is None and _knob(at, "hidden_size") is not None


def test_a_locked_field_holds_against_presets_and_their_buttons():
    at = open_app({**SMALL, "lock": "cell"})
    titles = at.sidebar.selectbox(key="cfg.preset").options
    assert PRESETS["lstm-remembers"].title not in titles  # it would change the cell
    assert PRESETS["vanishing-tanh"].title in titles  # rnn_tanh, like the locked cell
    at.switch_page("pages/learn.py").run()
    from rnnviz.lessons import GUIDED

    for i, lesson in enumerate(GUIDED):
        if lesson.key in ("vanishing", "lstm", "gru"):
            at.selectbox(key="learn.lesson").select(i).run()
            allowed = lesson.config.cell == "rnn_tanh"
            assert at.button(key=f"learn.{lesson.key}.setup").disabled != allowed, lesson.key
    from ui import sidebar  # and the callback itself refuses, should a stale click arrive

    with pytest.MonkeyPatch.context() as mp:
        import ui.state

        mp.setattr(ui.state, "flags", lambda: InstructorFlags(locked=frozenset({"cell"})))
        mp.setattr(ui.state, "session", lambda: session(at))
        store = {}
        mp.setattr(sidebar.st, "session_state", store)
        assert not sidebar.select_preset("lstm-remembers")
        assert "locked" in store[sidebar.ERROR_KEY] and session(at).config.cell == "rnn_tanh"


@pytest.mark.parametrize("flag", ["lock", "hide"])
def test_preset_flag(flag):
    at = open_app({**SMALL, flag: "preset"})
    pickers = [s for s in at.sidebar.selectbox if s.key == "cfg.preset"]
    if flag == "lock":
        assert pickers[0].disabled
    else:
        assert not pickers
    at.switch_page("pages/learn.py").run()
    from rnnviz.lessons import GUIDED

    at.selectbox(key="learn.lesson").select([g.key for g in GUIDED].index("vanishing")).run()
    assert at.button(key="learn.vanishing.setup").disabled  # a preset lesson cannot open its preset


@pytest.mark.parametrize("flag", ["lock", "hide"])
def test_play_flag_covers_play_and_step_here_and_on_compare(flag):
    at = open_app({**SMALL, flag: "play"})
    for key in ("ctl.play", "ctl.step1", "ctl.step10", "cmp.play", "cmp.step1", "cmp.step10"):
        if key.startswith("cmp"):
            at.switch_page("pages/compare.py").run()
            assert_no_exception(at)
        buttons = [b for b in at.button if b.key == key]
        assert (buttons[0].disabled if flag == "lock" else not buttons), key
    assert [b for b in at.button if b.key == "cmp.reset"] and not at.button(key="cmp.reset").disabled


@pytest.mark.parametrize("flag", ["lock", "hide"])
def test_reset_flag(flag):
    at = open_app({**SMALL, flag: "reset"})
    for key in ("ctl.reset", "cmp.reset"):  # the strip drives the live run here and the three cells on Compare
        if key.startswith("cmp"):
            at.switch_page("pages/compare.py").run()
            assert_no_exception(at)
        buttons = [b for b in at.button if b.key == key]
        assert (buttons[0].disabled if flag == "lock" else not buttons), key
    assert not at.button(key="cmp.step1").disabled


@pytest.mark.parametrize("flag", ["lock", "hide"])
def test_download_flag(flag, deferred):
    at = open_app({**SMALL, flag: "download"}, page=SHARE)
    buttons = list(at.get("download_button"))
    if flag == "lock":
        assert buttons and all(b.proto.disabled for b in buttons)
        assert not deferred  # a disabled button leaves no file generator behind
    else:
        assert not buttons
    at.switch_page("pages/gradient_flow.py").run()
    buttons = list(at.get("download_button"))
    assert all(b.proto.disabled for b in buttons) if flag == "lock" else not buttons


@pytest.mark.parametrize("flag", ["lock", "hide"])
def test_upload_flag(flag):
    at = open_app({**SMALL, flag: "upload"}, page=SHARE)
    uploaders = list(at.file_uploader)
    if flag == "lock":
        assert len(uploaders) == 3 and all(u.proto.disabled for u in uploaders)
    else:
        assert not uploaders


def test_every_control_is_a_known_flag():
    assert set(InstructorFlags.CONTROLS) == {*FIELDS, "preset", "play", "reset", "upload", "download"}


# ------------------------------------------------------------------------------------------ downloads
def test_the_run_download_loads_back_equal_to_the_session(deferred):
    at = open_app({**SMALL, "cell": "lstm"})
    at.button(key="ctl.step10").click().run()
    at.switch_page(SHARE).run()
    assert_no_exception(at)
    hist = session(at).history
    loaded = load_run(download(at, "share.npz", deferred))
    assert loaded.config == session(at).config
    for name, arr in hist.scalars.items():
        np.testing.assert_array_equal(loaded.scalars[name], arr)
    np.testing.assert_array_equal(loaded.recorded_steps(), hist.recorded_steps())
    np.testing.assert_array_equal(loaded.record_at(10, full=True).hidden, hist.record_at(10, full=True).hidden)
    np.testing.assert_array_equal(loaded.record_at(10).grad_norms, hist.record_at(10).grad_norms)
    rows = list(csv.DictReader(io.StringIO(download(at, "share.scalars", deferred).decode())))
    np.testing.assert_array_equal([float(r["loss"]) for r in rows], hist.scalars["loss"])


def test_the_run_download_is_readable_by_the_cli(deferred, tmp_path, capsys):
    at = open_app(SMALL, page=SHARE)
    path = tmp_path / "run.npz"
    path.write_bytes(download(at, "share.npz", deferred))
    from rnnviz.cli import main

    assert main(["info", str(path)]) == 0
    assert "rnn_tanh" in capsys.readouterr().out


def test_the_offline_page_download_is_a_pack_of_the_session_run(deferred):
    """Issue 17: the zip is index.html, the run's page and plotly.js once; its embedded gradient curves are
    the session's recorded ones."""
    import json
    import re
    import zipfile

    from rnnviz.pack.pages import decode

    at = open_app({**SMALL, "cell": "gru"})
    at.button(key="ctl.step10").click().run()
    at.switch_page(SHARE).run()
    assert_no_exception(at)
    hist = session(at).history
    z = zipfile.ZipFile(io.BytesIO(download(at, "share.pack", deferred)))
    names = sorted(z.namelist())
    stem = names[0].split("/")[0]
    files = (f"{stem}.html", "index.html", "pack.css", "pack.js", "plotly.min.js")
    assert names == sorted(f"{stem}/{n}" for n in files)
    page = z.read(f"{stem}/{stem}.html").decode()
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    flow = next(p for p in data["panels"] if p["id"] == "flow")
    assert [f["step"] for f in data["frames"]] == list(hist.recorded_steps())
    for frame in data["frames"]:
        (_, _, enc), = flow["states"][frame["states"]["flow"]]["arrays"]
        np.testing.assert_array_equal(decode(enc), hist.record_at(frame["step"]).grad_norms[0, 0])


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_hidden_states_csv_is_the_shown_step_layer_and_sample(deferred):
    at = open_app({**SMALL, "cell": "lstm", "probe_size": "3", "num_layers": "2"}, page="pages/hidden_states.py")
    at.button(key="ctl.step10").click().run()
    at.toggle(key="hidden.step.follow").set_value(False).run()
    at.slider(key="hidden.step").set_value(4).run()
    at.selectbox(key="hidden.layer").select(1).run()
    at.radio(key="hidden.sample").set_value(2).run()
    assert_no_exception(at)
    rec = session(at).history.record_at(4, full=True)
    rows = _csv_rows(download(at, "hidden.heatmap.csv", deferred))
    assert {r["step"] for r in rows} == {str(rec.step)} and len(rows) == 20
    got = np.array([[float(r[f"unit{j + 1}"]) for j in range(16)] for r in rows])
    np.testing.assert_array_equal(got.astype(rec.hidden.dtype), rec.hidden[1, 0, 2])  # float16 round trip
    cell = np.array([[float(r[f"unit{j + 1}"]) for j in range(16)]
                     for r in _csv_rows(download(at, "hidden.cell.csv", deferred))])
    np.testing.assert_array_equal(cell.astype(rec.cell.dtype), rec.cell[1, 0, 2])


def test_gates_csv_holds_every_gate_of_the_shown_step(deferred):
    at = open_app({**SMALL, "cell": "gru"}, page="pages/gates.py")
    rows = _csv_rows(download(at, "gates.heatmaps.csv", deferred))
    rec = session(at).history.record_at(0, full=True)
    assert [r["gate"] for r in rows] == [g for g in "rzn" for _ in range(20)]
    for g in "rzn":
        got = np.array([[float(r[f"unit{j + 1}"]) for j in range(16)] for r in rows if r["gate"] == g])
        np.testing.assert_array_equal(got.astype(rec.gates[g].dtype), rec.gates[g][0, 0, 0])


def test_gradient_flow_csvs_are_the_recorded_norms_and_spectrum(deferred):
    at = open_app(SMALL, page="pages/gradient_flow.py")
    at.button(key="ctl.step10").click().run()
    hist = session(at).history
    rows = _csv_rows(download(at, "flow.curve.csv", deferred))
    got = np.array([[float(r[f"t{t + 1}"]) for t in range(20)] for r in rows])
    np.testing.assert_array_equal(got.astype(np.float32), hist.grad_norm_matrix(0, 0).astype(np.float32))
    assert [int(r["step"]) for r in rows] == list(hist.recorded_steps())
    spec = _csv_rows(download(at, "flow.eigen.csv", deferred))
    rec = hist.record_at(10)
    np.testing.assert_array_equal(np.array([float(r["singular_value"]) for r in spec], dtype=np.float32),
                                  rec.singular_values[0, 0, 0])
    html = download(at, "flow.curve.html", deferred).decode()
    assert html.lstrip().lower().startswith("<html") or "<!doctype html" in html.lower()[:200]
    assert "plotly" in html.lower()


def test_playground_csv_and_png_hint(deferred):
    at = open_app(SMALL)
    rows = _csv_rows(download(at, "playground.loss.csv", deferred))
    assert float(rows[0]["loss"]) == session(at).history.scalars["loss"][0]
    helps = " ".join(b.proto.help for b in at.get("download_button"))
    assert "camera icon" in helps and "PNG" in helps
