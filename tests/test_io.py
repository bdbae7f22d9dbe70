"""Runs on disk: exact npz round trip; every malformed file gives RnnvizError (never a traceback or code)."""

import io
import os
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rnnviz.io as rio
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.recording import SCALARS, RunHistory

sys.path.insert(0, str(Path(__file__).parent))
from test_recording import synthetic  # noqa: E402

CONFIG = ExperimentConfig(cell="lstm", task="adding", seq_len=100, hidden_size=64)


def make_history(n: int = 40, config=CONFIG) -> RunHistory:
    h = RunHistory(config=config, keep_latest=4)
    h.set_probe(x=np.random.default_rng(0).random((4, 100, 2), dtype=np.float32),
                mask=np.ones((4, 100), bool))
    for s in range(n):
        h.append(synthetic(s, recorded=s % 3 == 0))
    h.status.update(state="diverged", reason="gradient norm became inf at step 39", diverged_step=39)
    return h


def assert_same(a: RunHistory, b: RunHistory) -> None:
    ma, xa = a.to_arrays()
    mb, xb = b.to_arrays()
    assert ma == mb
    assert xa.keys() == xb.keys()
    for k in xa:
        assert xa[k].dtype == xb[k].dtype and xa[k].shape == xb[k].shape, k
        np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)
    assert a.config == b.config


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def good_arrays() -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(rio.run_to_bytes(make_history(10)))) as z:
        return {k: z[k] for k in z.files}


def test_round_trip_path_bytes_and_file(tmp_path):
    h = make_history()
    path = tmp_path / "run.npz"
    rio.save_run(h, path)
    assert path.exists() and not (tmp_path / "run.npz.npz").exists()
    assert_same(h, rio.load_run(path))
    assert_same(h, rio.load_run(str(path)))
    assert_same(h, rio.load_run(path.read_bytes()))
    with open(path, "rb") as f:
        assert_same(h, rio.load_run(f))
    loaded = rio.load_run(path)
    assert loaded.config == CONFIG and loaded.status["diverged_step"] == 39
    assert loaded.record_at(37, full=True).step == h.record_at(37, full=True).step


def test_round_trip_empty_history_and_no_config():
    h = RunHistory()
    g = rio.load_run(rio.run_to_bytes(h))
    assert len(g) == 0 and g.config is None
    assert_same(h, g)


def test_round_trip_real_trainer_run():
    from rnnviz.trainer import Trainer  # torch: imported only by the tests that train

    t = Trainer(ExperimentConfig(cell="gru", seq_len=10, hidden_size=6, batch_size=4, record_every=2))
    t.step(9)
    assert_same(t.history, rio.load_run(rio.run_to_bytes(t.history)))


def test_pickled_object_array_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    arrays = good_arrays()
    arrays["scalar/loss"] = np.array([Evil()], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # savez pickles object arrays
    assert b"posix" in buf.getvalue() or b"system" in buf.getvalue()
    with pytest.raises(RnnvizError, match="pickle"):
        rio.load_run(buf.getvalue())
    assert not marker.exists()
    # a raw pickle file (not even a zip) is refused too
    with pytest.raises(RnnvizError, match="npz"):
        rio.load_run(pickle.dumps(Evil()))
    assert not marker.exists()


def _truncated() -> bytes:
    data = rio.run_to_bytes(make_history(10))
    return data[: len(data) // 2]


def _with(**changes) -> bytes:
    arrays = good_arrays()
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    return npz_bytes(**arrays)


def _corrupt_member() -> bytes:
    data = bytearray(rio.run_to_bytes(make_history(10)))
    mid = len(data) // 3
    data[mid : mid + 64] = bytes(64)  # flip bytes inside a compressed member (CRC/deflate fails)
    return bytes(data)


def _extra_member() -> bytes:
    buf = io.BytesIO(rio.run_to_bytes(make_history(5)))
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("evil.py", "print('hi')")
    return buf.getvalue()


MALFORMED = {
    "empty": (b"", "empty"),
    "random bytes": (np.random.default_rng(1).bytes(5000), "npz"),
    "text": (b"step,loss\n0,1.0\n", "npz"),
    "truncated": (_truncated(), "npz|could not be read"),
    "corrupt member": (_corrupt_member(), "could not be read|npz"),
    "foreign npz": (npz_bytes(a=np.arange(5)), "not an rnnviz run: the file must contain 'format'"),
    "wrong format name": (_with(format=np.array("someone-else")), "format must be"),
    "wrong version": (_with(format_version=np.array(99)), "version must be 1 or 2, got 99"),
    "version not int": (_with(format_version=np.array(1.5)), "integer"),
    "missing scalar": (_with(**{"scalar/loss": None}), "scalar/loss"),
    "missing records": (_with(**{"rec/grad_norms": None}), "rec/grad_norms"),
    "wrong dtype": (_with(**{"scalar/step": np.arange(10, dtype=np.float32)}), "int64"),
    "wrong length": (_with(**{"scalar/loss": np.zeros(3)}), r"scalar/loss must be float64 of shape \(10,\)"),
    "wrong heavy shape": (_with(**{"full/hidden": np.zeros((2, 1, 1, 4, 100, 3), np.float16)}), "full/"),
    "string array": (_with(**{"scalar/lr": np.array(["a"] * 10)}), "float64"),
    "meta not json": (_with(meta_json=np.array("{nope")), "meta_json"),
    "meta wrong": (_with(meta_json=np.array("[1, 2]")), "metadata"),
    "config not json": (_with(config_json=np.array("{")), "config"),
    "config bad value": (_with(config_json=np.array('{"hidden_size": 99999}')), "hidden_size"),
    "config unknown key": (_with(config_json=np.array('{"evil": 1}')), "config"),
    "config as array": (_with(config_json=np.array(["a", "b"])), "text scalar"),
    "extra member": (_extra_member(), ".npy"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_files_give_rnnviz_error(name):
    data, match = MALFORMED[name]
    with pytest.raises(RnnvizError, match=match):
        rio.load_run(data)


def test_oversized_file_and_zip_bomb(tmp_path, monkeypatch):
    data = rio.run_to_bytes(make_history(10))
    monkeypatch.setattr(rio, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(RnnvizError, match="at most"):
        rio.load_run(data)
    path = tmp_path / "big.npz"
    path.write_bytes(data)
    with pytest.raises(RnnvizError, match="at most"):
        rio.load_run(path)
    monkeypatch.setattr(rio, "MAX_FILE_BYTES", 10 * len(data))
    # a small file that unpacks to a lot: zeros compress ~1000x
    bomb = npz_bytes(format=np.array("rnnviz-run"), zeros=np.zeros(2_000_000))
    assert len(bomb) < 100_000
    monkeypatch.setattr(rio, "MAX_UNPACKED_BYTES", 1_000_000)
    with pytest.raises(RnnvizError, match="zip bomb"):
        rio.load_run(bomb)


def test_bad_sources():
    with pytest.raises(RnnvizError, match="exist"):
        rio.load_run("/nonexistent/run.npz")
    with pytest.raises(RnnvizError, match="binary"):
        rio.load_run(io.StringIO("text"))
    with pytest.raises(RnnvizError, match="path, bytes"):
        rio.load_run(12)


def test_csv_views():
    h = make_history(12)
    sc = rio.history_to_csv(h, "scalars").splitlines()
    assert sc[0] == "step,loss,metric,grad_norm,grad_norm_clipped,clipped,lr,finite"
    assert len(sc) == 13 and sc[1].startswith("0,1.0,")
    g = rio.history_to_csv(h, "grad_norms").splitlines()
    assert g[0].startswith("step,t1,t2") and len(g) == 1 + len(h.recorded_steps())
    assert float(g[1].split(",")[1]) == pytest.approx(1e-20, rel=1e-6)  # full float32 range kept
    hid = rio.history_to_csv(h, "hidden", step=9).splitlines()
    assert hid[0].startswith("step,t,unit1,") and len(hid) == 1 + 100
    assert hid[1].startswith("9,1,")
    gate = rio.history_to_csv(h, "gate", gate="f", step=9, sample=3).splitlines()
    assert len(gate[1].split(",")) == 2 + 64
    sp = rio.history_to_csv(h, "spectrum").splitlines()
    assert sp[0] == "step,block,k,singular_value,eig_real,eig_imag,eig_abs" and len(sp) == 1 + 4 * 64
    assert rio.history_to_csv(h, "prediction").splitlines()[0] == "t,output1"
    for bad, match in [(dict(view="nope"), "view must be"), (dict(view="gate", gate="x"), "gate must be"),
                       (dict(view="hidden", sample=9), "sample must be")]:
        with pytest.raises(RnnvizError, match=match):
            rio.history_to_csv(h, **bad)


# ------------------------------------------------------------------ files bounded by their config
def _meta(arrays: dict) -> dict:
    import json

    return json.loads(str(arrays["meta_json"][()]))


def _with_meta(arrays: dict, **changes) -> dict:
    import json

    meta = _meta(arrays)
    for k, v in changes.items():
        if k in ("state", "reason", "diverged_step"):
            meta["status"][k] = v
        else:
            meta[k] = v
    return {**arrays, "meta_json": np.array(json.dumps(meta))}


def _npy_member(shape, dtype, data: bytes) -> bytes:
    """An .npy file whose header declares ``shape`` whatever ``data`` holds."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def _replace_member(data: bytes, name: str, member: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, member if info.filename == name + ".npy" else src.read(info))
    return out.getvalue()


def test_junk_array_compressing_to_1mb_is_refused_before_it_is_unpacked():
    """D3: probe/junk = 2**30 - 300,000 zero bytes (about 1 MB compressed), listed in the meta."""
    arrays = _with_meta(good_arrays(), probe=["junk", "mask", "x"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for k, v in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, v)
            zf.writestr(k + ".npy", member.getvalue())
        n = 2**30 - 300_000
        with zf.open("probe/junk.npy", "w", force_zip64=True) as f:
            f.write(_npy_member((n,), np.int8, b""))
            chunk = bytes(2**24)
            left = n
            while left:
                f.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
    data = buf.getvalue()
    assert len(data) < 5 * 2**20  # small enough to upload
    with pytest.raises(RnnvizError, match=r"unpacks to at most 268,435,456 bytes \(256 MB\), got 1,07"):
        rio.load_run(data)


def test_an_array_the_config_does_not_imply_is_refused_even_if_small():
    arrays = _with_meta(good_arrays(), probe=["junk", "mask", "x"])
    arrays["probe/junk"] = np.zeros(1000, np.int8)
    with pytest.raises(RnnvizError, match=r"probe arrays among \['x', 'y', 'mask'\]"):
        rio.load_run(npz_bytes(**arrays))
    arrays = good_arrays()
    arrays["rec/junk"] = np.zeros(10, np.float32)  # not listed in the meta either
    with pytest.raises(RnnvizError, match=r"holds only the arrays its config implies, got also \['rec/junk'\]"):
        rio.load_run(npz_bytes(**arrays))


def test_T_of_100000_against_a_config_of_seq_len_100_is_refused():
    """D4: a small file with T = 100,000 float16 zeros (the config allows seq_len <= 1000, here 100)."""
    config = ExperimentConfig(cell="lstm", task="adding", seq_len=100, hidden_size=1, probe_size=4)
    h = RunHistory(config=config, keep_latest=4)
    L = 100_000
    h.set_probe(x=np.zeros((4, L, 2), np.float32), mask=np.ones((4, L), bool))
    rec = synthetic(0, L=L, H=1)
    rec.hidden, rec.cell = np.zeros_like(rec.hidden), np.zeros_like(rec.cell)
    rec.gates = {g: np.zeros_like(a) for g, a in rec.gates.items()}
    rec.prediction = np.zeros_like(rec.prediction)
    h.append(rec)
    data = rio.run_to_bytes(h)
    assert len(data) < 5 * 2**20  # under the upload cap
    with pytest.raises(RnnvizError, match=r"probe/x must be float32 of shape \(4, 100, 2\) "
                                          r"for this run's config, got float32 of shape \(4, 100000, 2\)"):
        rio.load_run(data)


def test_three_million_steps_are_refused():
    arrays = good_arrays()
    n = 3_000_000
    for name, dtype in SCALARS.items():
        arrays[f"scalar/{name}"] = np.arange(n, dtype=dtype) if name == "step" else np.zeros(n, dtype)
    with pytest.raises(RnnvizError, match=r"at most max_steps = 2,000 steps, got 3,000,000"):
        rio.load_run(npz_bytes(**arrays))


def test_a_header_declaring_2_to_the_40_elements_is_refused_not_allocated():
    """D7: the .npy header says (2**40,) float64 over 80 bytes of data (numpy would allocate 8 TB)."""
    data = rio.run_to_bytes(make_history(10))
    bad = _replace_member(data, "scalar/loss", _npy_member((2**40,), np.float64, bytes(80)))
    with pytest.raises(RnnvizError, match=r"'scalar/loss' declares shape \(1099511627776,\) of float64 "
                                          r"\(8,796,093,022,208 bytes\) but holds 80 bytes"):
        rio.load_run(bad)


CRAFTED = {  # D7: each a clear RnnvizError at load
    "diverged_step text": (lambda a: _with_meta(a, diverged_step="abc"), "diverged_step must be an integer step"),
    "diverged_step list": (lambda a: _with_meta(a, diverged_step=[1]), "diverged_step must be an integer step"),
    "diverged_step elsewhere": (lambda a: _with_meta(a, diverged_step=5000), "one of the run's steps"),
    "unknown state": (lambda a: _with_meta(a, state="<b>hacked</b>"), "state must be one of ready"),
    "long reason": (lambda a: _with_meta(a, reason="x" * 5000), "at most 200 printable"),
    "reason with newline": (lambda a: _with_meta(a, reason="a\n\n# big"), "printable"),
    "LSTM without gates": (lambda a: _with_meta({k: v for k, v in a.items() if "gate_" not in k},
                                                gate_names=[], heavy=["cell", "hidden", "prediction"]),
                           r"gate_names must be \['i', 'f', 'g', 'o'\] for this lstm run, got \[\]"),
    "foreign gate name": (lambda a: _with_meta({**{k: v for k, v in a.items() if k != "full/gate_o"},
                                                "full/gate_<a href=x>": a["full/gate_o"]},
                                               gate_names=["i", "f", "g", "<a href=x>"]), "gate_names must be"),
    "foreign param block": (lambda a: _with_meta({**{k: v for k, v in a.items() if k != "param/W_ii"},
                                                  "param/[x](http://e.vil)": a["param/W_ii"]},
                                                 param_blocks=["[x](http://e.vil)", *_meta(a)["param_blocks"][1:]]),
                            "param_blocks must be"),
    "wrong probe length": (lambda a: {**a, "probe/x": np.zeros((4, 50, 2), np.float32)},
                           r"probe/x must be float32 of shape \(4, 100, 2\)"),
    "eigenvalues (S, 1)": (lambda a: {**a, "rec/eigenvalues": np.zeros((4, 1), np.complex64)},
                           r"rec/eigenvalues must be complex64 of shape \(4, 1, 1, 4, 64\)"),
    "step 2**62": (lambda a: {**a, "scalar/step": np.r_[np.arange(9), 2**62].astype(np.int64)},
                   r"scalar/step must lie in 0..1,999 \(max_steps - 1\), got 0..4,611,686,018,427,387,904"),
    "csv task without probe": (lambda a: _with_meta(
        {**{k: v for k, v in a.items() if not k.startswith("probe/")},
         "config_json": np.array(CONFIG.replace(task="csv").to_json())}, probe=[]),
        "probe arrays among .* x included, got \\[\\]"),
    "big-endian floats": (lambda a: {**a, "scalar/loss": a["scalar/loss"].astype(">f8")},
                          "scalar/loss must be float64"),
    "structured dtype": (lambda a: {**a, "scalar/loss": np.zeros(10, [("a", "f8")])}, "numeric, bool or text"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_run_files_give_a_clear_error(name):
    change, match = CRAFTED[name]
    with pytest.raises(RnnvizError, match=match):
        rio.load_run(npz_bytes(**change(good_arrays())))


@pytest.mark.parametrize("cell,task,extra", [
    ("lstm", "adding", {}), ("gru", "copy", {"num_layers": 2}), ("rnn_relu", "sine", {}),
    ("rnn_tanh", "temporal_order", {"bidirectional": True}), ("gru", "parity", {"parity_bits": 3}),
    ("lstm", "charlm", {}), ("rnn_tanh", "csv", {}),
])
def test_every_cell_and_task_round_trips_through_the_layout_check(cell, task, extra):
    from rnnviz.trainer import Trainer

    t = Trainer(ExperimentConfig(cell=cell, task=task, seq_len=10, hidden_size=5, batch_size=3, probe_size=2,
                                 record_every=2, **extra))
    t.step(5)
    assert_same(t.history, rio.load_run(rio.run_to_bytes(t.history)))


@pytest.mark.parametrize("view", ["prediction", "hidden", "spectrum"])
@pytest.mark.parametrize("field,value,message", [
    ("sample", 4, "sample must be an integer in 0..3, got 4"),
    ("sample", -1, "sample must be an integer in 0..3, got -1"),
    ("layer", -1, "layer must be an integer in 0..0, got -1"),
    ("direction", 1, "direction must be an integer in 0..0, got 1"),
    ("sample", 1.5, "sample must be an integer in 0..3, got 1.5"),
])
def test_csv_index_out_of_range_is_an_rnnviz_error_never_an_index_error_or_a_wrap(view, field, value, message):
    """Defect: ``view="prediction"`` indexed ``rec.prediction[sample]`` unchecked (IndexError, or -1 wrapped)."""
    h = make_history(12)
    uses = {"prediction": {"sample"}, "hidden": {"layer", "direction", "sample"}, "spectrum": {"layer", "direction"}}
    if field not in uses[view]:  # e.g. the spectrum has no probe sample: the argument is ignored
        assert rio.history_to_csv(h, view, **{field: value}).count("\n") > 1
        return
    with pytest.raises(RnnvizError) as e:
        rio.history_to_csv(h, view, **{field: value})
    assert str(e.value) == message


# ---------------------------------------------------------------- format version 2: branches

V1_FIXTURE = Path(__file__).parent / "data" / "run_v1.npz"
V1_CONFIG = ExperimentConfig(cell="lstm", hidden_size=8, seq_len=10, batch_size=8, probe_size=2, max_steps=100,
                             checkpoint_every=5)


def test_a_version_1_file_written_by_the_old_code_still_loads_and_equals_a_fresh_run():
    from rnnviz.trainer import Trainer

    with np.load(V1_FIXTURE) as z:
        assert int(z["format_version"]) == 1 and "runs_json" not in z.files  # what the old writer wrote
    runs = rio.load_runs(V1_FIXTURE)
    assert [(r.name, r.parent, r.branch_step) for r in runs] == [("original", None, 0)]
    t = Trainer(V1_CONFIG)
    t.step(12)
    assert_same(t.history, runs[0].history)
    assert_same(t.history, rio.load_run(V1_FIXTURE))


def _session_with_branches():
    from rnnviz.session import PlaySession

    sess = PlaySession(V1_CONFIG.replace(cell="gru"))
    sess.step(12)
    sess.branch(11, changes={"lr": 0.01, "clip": "value"})
    sess.step(4)
    sess.branch(13, changes={"optimizer": "sgd"}, name="sgd from branch 1")
    sess.step(2)
    return sess


def test_branches_round_trip_through_the_run_file(tmp_path):
    sess = _session_with_branches()
    original = sess.runs.original
    saved = [r for r in sess.runs.branches]
    path = tmp_path / "run.npz"
    rio.save_run(original.history, path, saved)
    with np.load(path) as z:
        assert int(z["format_version"]) == 2 and "branch/2/scalar/loss" in z.files
    runs = rio.load_runs(path)
    assert [(r.name, r.parent, r.branch_step) for r in runs] == [
        ("original", None, 0), ("branch 1", "original", 10), ("sgd from branch 1", "branch 1", 10)]
    for got, want in zip(runs, [original, *saved], strict=True):
        assert_same(want.history, got.history)
    assert runs[1].history.config.lr == 0.01 and runs[2].history.config.optimizer == "sgd"
    assert_same(original.history, rio.load_run(rio.run_to_bytes(original.history, saved)))


def _branched_arrays() -> dict[str, np.ndarray]:
    sess = _session_with_branches()
    with np.load(io.BytesIO(rio.run_to_bytes(sess.runs.original.history, sess.runs.branches))) as z:
        return {k: z[k] for k in z.files}


def _runs_json(arrays, edit) -> dict:
    import json

    runs = json.loads(str(arrays["runs_json"][()]))
    edit(runs)
    return {**arrays, "runs_json": np.array(json.dumps(runs))}


def _set(index, key, value):
    def edit(runs):
        runs[index][key] = value
    return edit


BRANCH_CRAFTED = {
    "branch with another hidden size": (
        lambda a: _runs_json(a, _set(0, "config", V1_CONFIG.replace(cell="gru", hidden_size=64).to_json())),
        "runs_json entry 1 \\('branch 1'\\): hidden_size cannot change on a branch"),
    "branch array of another shape": (
        lambda a: {**a, "branch/1/rec/grad_norms": np.zeros((3, 1, 1, 100000), np.float32)},
        "branch 'branch 1': rec/grad_norms must be float32 of shape"),
    "array of an unlisted branch": (
        lambda a: {**a, "branch/7/scalar/loss": np.zeros(3)},
        "arrays only for the 2 branch\\(es\\) runs_json lists, got also \\['branch/7/scalar/loss'\\]"),
    "five branches": (lambda a: _runs_json(a, lambda r: r.extend([r[0]] * 3)),
                      "runs_json must be a list of at most 4 branches, got 5 entries"),
    "unknown parent": (lambda a: _runs_json(a, _set(0, "parent", "nobody")),
                       "runs_json entry 1's parent must be one of \\['original'\\], got 'nobody'"),
    "name twice": (lambda a: _runs_json(a, _set(1, "name", "branch 1")), "names each run once"),
    "name too long": (lambda a: _runs_json(a, _set(0, "name", "x" * 500)), "1..40 printable characters"),
    "negative branch step": (lambda a: _runs_json(a, _set(0, "branch_step", -3)), "branch_step must be an integer"),
    "extra key": (lambda a: _runs_json(a, _set(0, "code", "print(1)")), "must have exactly the keys"),
    "runs_json missing in version 2": (lambda a: {k: v for k, v in a.items() if k != "runs_json"},
                                       "the file must contain 'runs_json'"),
    "runs_json in a version-1 file": (lambda a: {**a, "format_version": np.array(1)},
                                      "a run file of format version 1 holds no branches, got also \\['branch/1/"),
}


@pytest.mark.parametrize("name", list(BRANCH_CRAFTED))
def test_crafted_branches_give_a_clear_error(name):
    change, match = BRANCH_CRAFTED[name]
    with pytest.raises(RnnvizError, match=match):
        rio.load_runs(npz_bytes(**change(_branched_arrays())))


def test_too_many_branches_are_refused_when_saving():
    h = make_history(5)
    fake = [rio.SavedRun(f"b{k}", h, "original", 0) for k in range(5)]
    with pytest.raises(RnnvizError, match="a run file holds at most 4 branches, got 5"):
        rio.run_to_bytes(h, fake)
