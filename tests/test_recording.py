"""RunHistory: scalars every step, curves every record, thinned probe tensors, bounded memory."""

import numpy as np
import pytest

from rnnviz.errors import RnnvizError
from rnnviz.recording import SCALARS, RunHistory, StepRecord, _keep_heavy

LYR, D, L, H, P, O, I = 1, 1, 100, 64, 4, 1, 2
GATES = ("i", "f", "g", "o")
BLOCKS = [f"{k}{g}" for k in ("W_i", "W_h", "b_i", "b_h") for g in "ifgo"]  # as trace.py names them


def synthetic(step: int, full: bool = True, recorded: bool = True, H=H, L=L, rng=None) -> StepRecord:
    """An LSTM-shaped record at the default size, with values that depend on the step."""
    rng = rng or np.random.default_rng(step)
    base = dict(step=step, loss=1.0 / (step + 1), metric=0.5, grad_norm=float(step) + 0.5,
                grad_norm_clipped=min(1.0, step + 0.5), clipped=step > 0, lr=1e-3, finite=True)
    if not recorded:
        return StepRecord(**base)
    g = np.logspace(-20, 20, L, dtype=np.float64).astype(np.float32).reshape(LYR, D, L) * (step + 1)
    rec = StepRecord(
        **base,
        grad_norms=g, cell_grad_norms=g * 2, input_grad_norms=g[0, 0] * 3,
        param_grad_norms={b: np.full((LYR, D), step, np.float32) for b in BLOCKS},
        singular_values=rng.random((LYR, D, 4, H), dtype=np.float32),
        eigenvalues=(rng.random((LYR, D, 4, H)) + 1j * rng.random((LYR, D, 4, H))).astype(np.complex64),
    )
    if full:
        shape = (LYR, D, P, L, H)
        rec.hidden = rng.uniform(-1, 1, shape).astype(np.float16)
        rec.cell = rng.uniform(-3, 3, shape).astype(np.float16)
        rec.gates = {k: rng.random(shape).astype(np.float16) for k in GATES}
        rec.prediction = rng.random((P, L, O)).astype(np.float16)
    return rec


def test_scalars_grow_and_read_back():
    h = RunHistory()
    for s in range(1000):
        h.append(synthetic(s, recorded=s % 10 == 0, full=False))
    assert len(h) == 1000
    np.testing.assert_array_equal(h.steps, np.arange(1000))
    assert set(h.scalars) == set(SCALARS)
    assert h.scalars["loss"][10] == pytest.approx(1 / 11)
    assert h.scalars["clipped"].dtype == np.bool_
    np.testing.assert_array_equal(h.recorded_steps(), np.arange(0, 1000, 10))


def test_record_at_nearest_at_or_before_and_full():
    h = RunHistory(keep_latest=2)
    for s in range(0, 50):
        h.append(synthetic(s, recorded=s % 5 == 0, full=s % 5 == 0))
    r = h.record_at(23)
    assert r.step == 20 and r.recorded and r.loss == pytest.approx(1 / 21)
    assert h.record_at(-1) is None
    full = h.full_steps()
    assert full[0] == 0 and full[-1] == 45
    f = h.record_at(23, full=True)
    assert f.full and f.step in full and f.step <= 23
    assert set(f.gates) == set(GATES)
    np.testing.assert_array_equal(f.gates["f"], synthetic(f.step).gates["f"])
    # A thinned record still has its curves but no heavy tensors.
    thinned = [s for s in h.recorded_steps() if s not in full]
    assert thinned
    t = h.record_at(int(thinned[0]))
    assert t.recorded and not t.full


def test_grad_norms_keep_their_range():
    h = RunHistory()
    h.append(synthetic(0))
    m = h.grad_norm_matrix()
    assert m.shape == (1, L) and m.dtype == np.float32
    assert m[0, 0] == pytest.approx(1e-20, rel=1e-6) and m[0, -1] == pytest.approx(1e20, rel=1e-6)
    assert h.grad_norm_matrix(kind="cell")[0, 0] == pytest.approx(2e-20, rel=1e-6)
    assert h.grad_norm_matrix(kind="input").shape == (1, L)
    with pytest.raises(RnnvizError, match="kind must be"):
        h.grad_norm_matrix(kind="bogus")


def test_thinning_rule_is_monotone_and_log_sized():
    K = 8
    kept_before: set[int] = set(range(1))
    for latest in range(1, 3000):
        kept = {o for o in range(latest + 1) if _keep_heavy(o, latest, K)}
        # a record dropped once never comes back (so deleting is safe)
        assert kept - {latest} <= kept_before
        kept_before = kept
    assert 0 in kept and set(range(latest - K + 1, latest + 1)) <= kept
    assert len(kept) <= K * (1 + np.log2(3000 / K) / 2) + 2


def test_thinning_keeps_step0_latest_and_spread():
    h = RunHistory(keep_latest=4)
    for s in range(200):
        h.append(synthetic(s))
    full = h.full_steps().tolist()
    assert full[0] == 0 and full[-4:] == [196, 197, 198, 199]
    assert len(full) < 30 and len(h.recorded_steps()) == 200  # curves are never thinned


def test_memory_bound_5000_steps_default_lstm():
    """5,000 recorded steps at H=64, L=100, P=4 (LSTM): measured on a real history of synthetic records
    with the real shapes and dtypes (the trainer's records have exactly these)."""
    h = RunHistory()
    rng = np.random.default_rng(0)
    template = synthetic(0, rng=rng)
    for s in range(5000):
        rec = StepRecord(**{**template.__dict__, "step": s})
        h.append(rec)
    assert len(h.recorded_steps()) == 5000
    assert h.nbytes < 200 * 2**20, h
    assert 0 in h.full_steps() and 4999 in h.full_steps()


def test_truncate_then_continue():
    h = RunHistory(keep_latest=4)
    for s in range(100):
        h.append(synthetic(s, recorded=s % 3 == 0))
    h.truncate(40)
    assert len(h) == 40 and h.steps[-1] == 39
    assert h.recorded_steps()[-1] == 39
    assert all(s < 40 for s in h.full_steps())
    for s in range(40, 60):
        h.append(synthetic(s, recorded=s % 3 == 0))
    assert h.steps[-1] == 59 and h.record_at(59).step == 57
    h.truncate(0)
    assert len(h) == 0 and len(h.recorded_steps()) == 0 and h.record_at(10) is None


def test_a_snapshot_keeps_its_moment_through_appends_thinning_compaction_and_a_rewind():
    """RunHistory.snapshot(): what a page draws while the run trains (rnnviz/session.py, reading())."""
    h = RunHistory(keep_latest=2, max_bytes=1)  # thin and compact as often as the rules allow
    for s in range(300):
        h.append(synthetic(s, recorded=s % 2 == 0, full=s % 4 == 0, H=8, L=10))
    snap = h.snapshot()
    steps, loss = snap.steps.copy(), snap.scalars["loss"].copy()
    rec_steps, full = snap.recorded_steps().copy(), snap.full_steps().copy()
    hidden = snap.record_at(int(full[-1]), full=True).hidden.copy()
    for s in range(300, 700):  # the buffers grow, records are thinned and compacted
        h.append(synthetic(s, recorded=s % 2 == 0, full=s % 4 == 0, H=8, L=10))
    h.truncate(100)  # a rewind, then other steps written where the old ones were
    for s in range(100, 400):
        h.append(synthetic(s + 10_000, recorded=True, full=True, H=8, L=10))
    np.testing.assert_array_equal(snap.steps, steps)
    np.testing.assert_array_equal(snap.scalars["loss"], loss)
    np.testing.assert_array_equal(snap.recorded_steps(), rec_steps)
    np.testing.assert_array_equal(snap.full_steps(), full)
    np.testing.assert_array_equal(snap.record_at(int(full[-1]), full=True).hidden, hidden)
    assert len(snap) == 300 and snap.key == h.key and h.snapshot().key == h.key
    assert RunHistory().key != h.key
    with pytest.raises(ValueError, match="read-only"):
        snap.scalars["loss"][0] = 0.0


def test_steps_must_increase_and_layout_is_fixed():
    h = RunHistory()
    h.append(synthetic(0))
    with pytest.raises(RnnvizError, match="steps must increase"):
        h.append(synthetic(0))
    bad = synthetic(1)
    bad.grad_norms = bad.grad_norms[..., :10]
    with pytest.raises(RnnvizError, match="grad_norms must have shape"):
        h.append(bad)


def test_to_from_arrays_round_trip():
    h = RunHistory(keep_latest=3)
    h.set_probe(x=np.ones((P, L, I), np.float32), mask=np.ones((P, L), bool))
    for s in range(30):
        h.append(synthetic(s, recorded=s % 2 == 0))
    h.status["state"] = "running"
    meta, arrays = h.to_arrays()
    g = RunHistory.from_arrays(meta, arrays)
    meta2, arrays2 = g.to_arrays()
    assert meta == meta2 and arrays.keys() == arrays2.keys()
    for k in arrays:
        assert arrays[k].dtype == arrays2[k].dtype, k
        np.testing.assert_array_equal(arrays[k], arrays2[k], err_msg=k)
    # and it keeps working after loading: appending continues the thinning
    g.append(synthetic(30))
    assert g.full_steps()[-1] == 30


def test_from_arrays_rejects_inconsistent_data():
    h = RunHistory()
    for s in range(3):
        h.append(synthetic(s))
    meta, arrays = h.to_arrays()
    for mutate, match in [
        (lambda a: a.pop("rec/grad_norms"), "missing"),
        (lambda a: a.__setitem__("scalar/loss", a["scalar/loss"][:2]), "entries"),
        (lambda a: a.__setitem__("scalar/step", a["scalar/step"].astype(np.float64)), "int64"),
        (lambda a: a.__setitem__("rec/step", np.array([0, 1, 7])), "one of scalar/step"),
        (lambda a: a.__setitem__("full/hidden", a["full/hidden"][..., :3]), "full/"),
        (lambda a: a.__setitem__("full/ordinal", np.array([0, 5, 1])), "full/ordinal"),
    ]:
        bad = dict(arrays)
        mutate(bad)
        with pytest.raises(RnnvizError, match=match):
            RunHistory.from_arrays(meta, bad)
    with pytest.raises(RnnvizError, match="metadata"):
        RunHistory.from_arrays({"status": {}}, arrays)


def test_a_history_capped_by_bytes_stays_under_its_budget_for_an_hour_of_steps():
    """One hour at 22 steps/s, every step recorded (LSTM, H=64, L=100, P=4), probe tensors every 100th:
    without a cap the curves and spectra alone grow to ~340 MB; with the live cap, older records are thinned."""
    from rnnviz.session import LIVE_HISTORY_BYTES as budget

    h = RunHistory(max_bytes=budget)
    light, full = synthetic(0, full=False), synthetic(0)
    peak = 0
    for s in range(22 * 3600):
        h.append(StepRecord(**{**(full if s % 100 == 0 else light).__dict__, "step": s}))
        if s % 256 == 0:
            peak = max(peak, h.nbytes)
    assert len(h) == 22 * 3600 and h.steps[-1] == 22 * 3600 - 1  # every step's scalars kept
    assert peak <= 1.2 * budget and h.nbytes <= budget, (peak, h.nbytes)  # + a column doubling, briefly
    rec = h.recorded_steps()
    assert rec[0] == 0 and np.all(np.diff(rec) > 0) and len(rec) < 22 * 3600 // 2
    np.testing.assert_array_equal(rec[-1024:], np.arange(22 * 3600 - 1024, 22 * 3600))  # recent: dense
    assert h.record_at(1234).step <= 1234 and h.record_at(22 * 3600 - 1, full=True).step == 22 * 3600 - 100
    assert 0 in h.full_steps()
    print(f"peak {peak / 2**20:.1f} MB, final {h.nbytes / 2**20:.1f} MB, {len(rec)} records kept")
