"""The lecture pack (issue 17): the folder's files, plotly.js once, escaping, thinning, and the embedded
values equal to the run's recorded ones."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import numpy as np
import plotly.offline
import pytest

from rnnviz import analysis, pack
from rnnviz.cli import main
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.pack.pages import MAX_HEAVY, decode, encode, frame_steps, run_page

SMALL = dict(hidden_size=8, seq_len=12, batch_size=4, probe_size=2)
EVIL = "<script>alert('x')</script> & </script><!--"


@pytest.fixture(scope="module")
def runs():
    gru = pack.config_run(ExperimentConfig(cell="gru", max_steps=30, **SMALL), "gru small")
    rnn = pack.config_run(ExperimentConfig(cell="rnn_tanh", max_steps=30, **SMALL), "tanh small")
    rnn.effect = EVIL
    rnn.title = "tanh " + EVIL
    return gru, rnn


@pytest.fixture(scope="module")
def lockstep():
    return pack.lockstep_trainers(ExperimentConfig(max_steps=12, **SMALL))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, runs, lockstep):
    out = tmp_path_factory.mktemp("pack") / "lecture"
    size = pack.write_pack(out, list(runs), lockstep, max_frames=10)
    return out, size


def page_data(path) -> dict:
    text = path.read_text(encoding="utf-8")
    block = re.search(r'<script id="rnnviz-data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


def panel(data, name):
    return next(p for p in data["panels"] if p["id"] == name)


def state_array(p, state_index, trace, key):
    """A trace's array in one state: the state's own if it differs from the base figure, else the base's."""
    for i, k, enc in p["states"][state_index]["arrays"]:
        if (i, k) == (trace, key):
            return decode(enc)
    return plotly_array(p["figure"]["data"][trace][key])


def plotly_array(v):
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.astype(np.float64).reshape([int(n) for n in v["shape"].split(",")] if "shape" in v else -1)
    return np.asarray(v, dtype=np.float64)


def test_the_folder_has_index_one_page_per_run_lockstep_and_plotly_once(folder):
    out, size = folder
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gru-small.html", "index.html", "lockstep.html", "pack.css", "pack.js", "plotly.min.js",
                     "tanh-small.html"]
    assert (out / "plotly.min.js").read_text(encoding="utf-8") == plotly.offline.get_plotlyjs()
    assert size == sum(p.stat().st_size for p in out.iterdir())
    for page in ("gru-small.html", "tanh-small.html", "lockstep.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert text.count('<script src="plotly.min.js"></script>') == 1
        assert len(text) < 1_000_000  # plotly.js is not inlined (4.8 MB)
        assert not re.search(r'(src|href)="(https?:)?//', text)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="gru-small.html"' in index and 'href="tanh-small.html"' in index and 'href="lockstep.html"' in index


def test_a_preset_text_with_markup_is_escaped_everywhere(folder):
    out, _ = folder
    index = (out / "index.html").read_text(encoding="utf-8")
    page = (out / "tanh-small.html").read_text(encoding="utf-8")
    for text in (index, page):
        assert "<script>alert" not in text and "<!--" not in text
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;/script&gt;&lt;!--" in text
    # the JSON block holds no '<' at all, and parses back to the exact text
    block = page.split('<script id="rnnviz-data" type="application/json">')[1].split("</script>")[0]
    assert "<" not in block
    assert json.loads(block)["title"] == "tanh " + EVIL
    assert pack.embed_json({"a": "</script>"}) == '{"a":"\\u003c/script>"}'


def test_recordings_are_thinned_to_the_frame_limit_with_first_and_last():
    assert list(frame_steps(np.arange(5))) == [0, 1, 2, 3, 4]
    steps = frame_steps(np.arange(0, 2500, 5), 100)
    assert len(steps) == 100 and steps[0] == 0 and steps[-1] == 2495
    assert np.all(np.diff(steps) > 0)


def test_a_page_has_at_most_max_frames_frames(folder, runs):
    out, _ = folder
    data = page_data(out / "gru-small.html")
    assert [f["step"] for f in data["frames"]] == list(frame_steps(runs[0].history.recorded_steps(), 10))
    assert len(data["frames"]) == 10 and data["frames"][-1]["step"] == 29


def test_the_embedded_values_are_the_recorded_values(folder, runs):
    out, _ = folder
    hist = runs[0].history
    data = page_data(out / "gru-small.html")
    loss = panel(data, "loss")
    assert np.array_equal(plotly_array(loss["figure"]["data"][0]["y"]), hist.scalars["loss"].astype(np.float64))
    flow, hidden, gates = panel(data, "flow"), panel(data, "hidden"), panel(data, "gates")
    for frame in data["frames"]:
        rec = hist.record_at(frame["step"])
        full = hist.record_at(frame["step"], full=True)
        st = frame["states"]
        assert np.array_equal(state_array(flow, st["flow"], 0, "y"), rec.grad_norms[0, 0].astype(np.float64))
        assert f"training step {frame['step']}" in flow["states"][st["flow"]]["title"]
        assert np.array_equal(state_array(hidden, st["hidden"], 1, "z"), full.hidden[0, 0, 0].T.astype(np.float64))
        for i, g in enumerate(("r", "z", "n")):
            assert np.array_equal(state_array(gates, st["gates"], i, "z"), full.gates[g][0, 0, 0].T.astype(np.float64))
        g = rec.grad_norms[0, 0]
        ratio = analysis.format_ratio(analysis.gradient_ratio(g))
        verdict = analysis.vanishing_verdict("GRU", g)
        assert frame["lines"][2] == f"{verdict} (ratio ||dL/dh_1|| / ||dL/dh_T|| = {ratio})."
        assert frame["lines"][0] == f"Training step {frame['step']}: loss {rec.loss:.4g} (chance baseline 0.167)."


def test_the_lockstep_page_has_the_three_cells_on_one_scrubber(folder, lockstep):
    out, _ = folder
    data = page_data(out / "lockstep.html")
    flow = panel(data, "flow")
    assert [t["name"] for t in flow["figure"]["data"]] == ["tanh RNN", "LSTM", "GRU"]
    for frame in data["frames"]:
        for i, t in enumerate(lockstep.values()):
            got = state_array(flow, frame["states"]["flow"], i, "y")
            assert np.array_equal(got, t.history.record_at(frame["step"]).grad_norms[0, 0].astype(np.float64))
        assert frame["lines"][1].startswith("tanh RNN: gradient at t=1 is ")


def test_no_vanishing_verdict_when_the_loss_has_a_term_at_t1():
    run = pack.config_run(ExperimentConfig(task="sine", max_steps=3, **SMALL), "sine")
    page = run_page(run.history, title="sine", intro=[], baseline=run.baseline)
    for frame in page["frames"]:
        assert not any("gradient at t=1 is" in line for line in frame["lines"])
        assert frame["lines"][2].startswith("No vanishing verdict: on this task the loss does not enter at h_T alone")


def test_hidden_states_are_thinned_to_max_heavy_distinct_steps():
    run = pack.config_run(ExperimentConfig(cell="rnn_tanh", max_steps=MAX_HEAVY + 20, **SMALL), "long")
    page = run_page(run.history, title="t", intro=[], baseline=None, max_frames=100)
    hidden = next(p for p in page["panels"] if p["id"] == "hidden")
    assert len(hidden["states"]) == MAX_HEAVY
    shown = [int(re.search(r"training step (\d+)", hidden["states"][f["states"]["hidden"]]["title"]).group(1))
             for f in page["frames"]]
    assert all(s <= f["step"] for s, f in zip(shown, page["frames"], strict=True)) and shown[-1] == MAX_HEAVY + 19


@pytest.mark.parametrize("values, dtype", [([0.5, -1.0, np.nan], "f2"), ([float(np.float32(1e-9)), 3.0], "f4"),
                                           ([0.1, None], "f8"), (np.float16([[1, 2], [3, 4]]), "f2")])
def test_encode_picks_the_narrowest_exact_float(values, dtype):
    enc = encode(values)
    assert enc["dtype"] == dtype
    assert np.array_equal(decode(enc), np.asarray(values, dtype=np.float64), equal_nan=True)


def test_the_zip_holds_the_same_folder(runs):
    data = pack.pack_zip([runs[0]], folder="my run", max_frames=5)
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == ["my-run/gru-small.html", "my-run/index.html", "my-run/pack.css", "my-run/pack.js",
                     "my-run/plotly.min.js"]


def test_cli_pack_writes_the_folder_and_says_its_size(tmp_path, capsys):
    out = tmp_path / "lecture"
    assert main(["pack", "--preset", "vanishing-tanh", "--steps", "3", "--out", str(out), "--no-lockstep",
                 "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "pack.css", "pack.js", "plotly.min.js",
                                                      "vanishing-tanh.html"]
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out}: index.html and 1 pages, ") and "plotly.min.js 4.6 MB of it, once" in said
    from rnnviz.config import PRESETS

    assert PRESETS["vanishing-tanh"].effect.replace("'", "&#x27;") in (out / "index.html").read_text()


def test_cli_pack_refuses_nothing_to_pack_and_unknown_presets(tmp_path, capsys):
    assert main(["pack", "--out", str(tmp_path / "x")]) == 2
    assert "pack needs at least one --preset NAME (or all), --config FILE or --run FILE, got none" in \
        capsys.readouterr().err
    assert main(["pack", "--preset", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "preset must be one of vanishing-tanh" in capsys.readouterr().err


def test_cli_pack_packs_a_saved_run_as_recorded(tmp_path, capsys):
    from rnnviz.io import load_run

    run = tmp_path / "my run.npz"
    assert main(["train", "--preset", "vanishing-tanh", "--steps", "4", "--set", "seq_len=12", "--set",
                 "hidden_size=8", "--out", str(run), "--quiet"]) == 0
    out = tmp_path / "lecture"
    assert main(["pack", "--run", str(run), "--out", str(out), "--no-lockstep", "--quiet"]) == 0
    data = page_data(out / "my-run.html")
    hist = load_run(run)
    assert [f["step"] for f in data["frames"]] == [0, 1, 2, 3]
    flow = panel(data, "flow")
    for frame in data["frames"]:
        assert np.array_equal(state_array(flow, frame["states"]["flow"], 0, "y"),
                              hist.record_at(frame["step"]).grad_norms[0, 0].astype(np.float64))
    assert "my run" in (out / "index.html").read_text()


def test_a_run_with_nothing_recorded_is_refused_with_a_clear_message():
    from rnnviz.recording import RunHistory

    with pytest.raises(RnnvizError, match="a pack page needs a run with its config and at least one recorded step, "
                                          "got 0 recorded steps$"):
        run_page(RunHistory(config=ExperimentConfig(**SMALL)), title="t", intro=[], baseline=None)
