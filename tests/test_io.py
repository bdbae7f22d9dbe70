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
from rnnviz.recording import RunHistory

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
    "wrong version": (_with(format_version=np.array(99)), "version must be 1, got 99"),
    "version not int": (_with(format_version=np.array(1.5)), "integer"),
    "missing scalar": (_with(**{"scalar/loss": None}), "scalar/loss"),
    "missing records": (_with(**{"rec/grad_norms": None}), "rec/grad_norms"),
    "wrong dtype": (_with(**{"scalar/step": np.arange(10, dtype=np.float32)}), "int64"),
    "wrong length": (_with(**{"scalar/loss": np.zeros(3)}), "entries"),
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
