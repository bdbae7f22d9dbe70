"""rnnviz/sweep/phase.py: the Phase diagram page's grids, their slices, values and theory lines."""

from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np
import pytest

from rnnviz import cells
from rnnviz.analysis import gradient_ratio
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.sweep import init_stats, run_sweep
from rnnviz.sweep import phase as ph
from rnnviz.sweep.phase import AxisChoice, PhaseJob, phase_grid, theory_lines, trained_stats
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = dict(hidden_size=8, batch_size=4, init="scaled", seq_len=12)


def small(**changes) -> ExperimentConfig:
    return ExperimentConfig(**{**SMALL, **changes})


def run(job: PhaseJob) -> int:
    n = 0
    while not job.done:
        job.run_next()
        n += 1
    return n


def rho_by_len(base, rho=(0.5, 2.0, 4), seq=(5, 20, 3), seeds=1, steps=0):
    return phase_grid(base, AxisChoice("rho", *rho), AxisChoice("seq_len", *seq), seeds, steps)


# ------------------------------------------------------------------------------------------- values
@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_grid_at_init_equals_the_sweep_command_row_for_row(tmp_path, cell):
    base = small(cell=cell)
    grid = rho_by_len(base, seeds=2)
    table = ph.PhaseJob(grid)
    run(table)
    t = table.table()
    out = tmp_path / "phase.csv"
    run_sweep(base, [grid.y, grid.x], 2, out)
    lines = out.read_text().splitlines()
    assert lines[0] == "rho,seq_len,sigma_max,spectral_radius,grad_ratio,grad_ratio_min,grad_ratio_max"
    assert t.csv().splitlines()[0] == lines[0]
    cli = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])  # rows outermost, as the page
    assert cli.shape == (12, 7)
    np.testing.assert_array_equal(cli[:, 0].reshape(4, 3), np.repeat(np.array(grid.y.values)[:, None], 3, 1))
    np.testing.assert_array_equal(cli[:, 1].reshape(4, 3), np.tile(np.array(grid.x.values), (4, 1)))
    for k, a in enumerate((t.sigma_max, t.spectral_radius, t.ratio, t.ratio_min, t.ratio_max), start=2):
        np.testing.assert_allclose(a.ravel(), cli[:, k], rtol=1e-6, atol=0)
    assert (t.diverged == 0).all()


def test_trained_grid_is_the_trainers_own_record_at_step_k():
    """After K steps: the ratio, sigma_max and radius of the Trainer's record of step K, as the Playground
    would show them after K steps (recording every step there, only 0 and K here: same weights)."""
    base = small(cell="rnn_tanh", lr=0.05)
    grid = rho_by_len(base, rho=(0.8, 1.6, 2), seq=(6, 12, 2), steps=4)
    job = PhaseJob(grid)
    run(job)
    t = job.table()
    for i, rho in enumerate(grid.y.values):
        for j, L in enumerate(grid.x.values):
            tr = Trainer(base.replace(rho=rho, seq_len=L))
            tr.step(5)
            rec = tr.history.record_at(4)
            assert rec.step == 4
            assert t.ratio[i, j] == gradient_ratio(rec.grad_norms[0, 0])
            assert t.sigma_max[i, j] == float(rec.singular_values[0, 0, 0, 0])
            assert t.spectral_radius[i, j] == pytest.approx(float(np.abs(rec.eigenvalues[0, 0, 0, 0])), rel=1e-6)


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_trained_at_step_zero_is_the_ratio_at_init(cell):
    """Both tabs measure the same thing: K = 0 through the Trainer equals the batched step-0 ratio."""
    for seed in range(5):
        config = small(cell=cell, seed=seed, rho=1.1)
        (at0, diverged), (ref,) = trained_stats(config, 0), init_stats([config])
        assert not diverged
        assert at0.grad_ratio == pytest.approx(ref.grad_ratio, rel=1e-5)
        assert at0.sigma_max == pytest.approx(ref.sigma_max, rel=1e-5)
        assert at0.spectral_radius == pytest.approx(ref.spectral_radius, rel=1e-5)


def test_a_run_that_diverges_before_k_has_no_value_and_is_counted():
    base = small(cell="rnn_relu", optimizer="sgd", lr=10.0, clip="none", rho=3.0, seq_len=30)
    grid = phase_grid(base, AxisChoice("rho", 2.5, 3.0, 2), AxisChoice("lr", 5.0, 10.0, 2), 1, 40)
    job = PhaseJob(grid)
    run(job)
    t = job.table()
    for i, rho in enumerate(grid.y.values):
        for j, lr in enumerate(grid.x.values):
            tr = Trainer(base.replace(rho=rho, lr=lr, max_steps=41))
            tr.step(41)
            assert (tr.state == "diverged") == bool(t.diverged[i, j])
            assert math.isnan(t.ratio[i, j]) == (tr.state == "diverged")
    assert t.diverged.sum() > 0


def test_slices_are_bounded_and_one_shape_each():
    grid = rho_by_len(small(hidden_size=64, batch_size=32), rho=(0.5, 2.0, 16), seq=(20, 200, 10), seeds=3)
    job = PhaseJob(grid)
    slices = job._slices
    assert sorted(i for s in slices for i in s) == list(range(job.total))
    for s in slices:
        costs = [ph._cost(job.configs[i]) for i in s]
        assert len(s) == 1 or sum(costs) <= ph.SLICE_SECONDS
        assert len({job.configs[i].length for i in s}) == 1
    assert run(job) == len(slices)


def test_a_training_slice_trains_at_most_its_budget_of_steps():
    base = small(hidden_size=64, batch_size=32, seq_len=200)
    grid = phase_grid(base, AxisChoice("rho", 0.5, 1.0, 2), AxisChoice("seq_len", 150, 200, 2), 1, 60)
    job = PhaseJob(grid)
    budget = max(1, int(ph.SLICE_SECONDS / ph._cost(job.configs[0])))
    job.run_next()
    assert 1 <= job._run.trainer.step_count <= budget < 61


def test_sessions_sharing_a_job_compute_each_config_once():
    grid = rho_by_len(small(), seeds=2)
    job = PhaseJob(grid)
    threads = [threading.Thread(target=run, args=(job,)) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    alone = PhaseJob(grid)
    run(alone)
    assert job.finished == job.total == 24
    np.testing.assert_array_equal(job.table().ratio, alone.table().ratio)


def test_table_before_done_says_how_far_it_is():
    job = PhaseJob(rho_by_len(small()))
    with pytest.raises(RnnvizError, match=r"^the phase grid is not computed yet: 0 of 12 configs done$"):
        job.table()


def test_config_at_is_the_live_config_with_the_cells_two_values():
    base = small(seed=3)
    grid = rho_by_len(base)
    assert grid.config_at(2, 1) == base.replace(rho=grid.y.values[2], seq_len=grid.x.values[1])
    assert grid.config_at(2, 1).seed == 3
    with pytest.raises(RnnvizError, match=r"^grid cell must be a row in 0..3 and a column in 0..2, got \(4, 0\)$"):
        grid.config_at(4, 0)


def test_cli_line_is_the_same_sweep():
    grid = rho_by_len(small(seed=2), seeds=3)
    assert grid.cli() == ("python -m rnnviz sweep --set hidden_size=8 --set batch_size=4 --set init=scaled "
                          "--set seed=2 --grid rho=0.5:2:4 --grid seq_len=5:20:3 --seeds 3 --out phase.csv")


def test_default_axes_follow_what_the_init_lets_matter():
    assert [a.field for a in ph.default_axes(small())] == ["rho", "seq_len"]
    assert [a.field for a in ph.default_axes(ExperimentConfig())] == ["hidden_size", "seq_len"]


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("y, x, seeds, steps, message", [
    (AxisChoice("rho", 2.0, 0.5, 4), AxisChoice("seq_len", 5, 20, 3), 1, 0,
     "Spectral radius ρ: 'from' must be below 'to', got from=2, to=0.5"),
    (AxisChoice("rho", 0.5, 12.0, 4), AxisChoice("seq_len", 5, 20, 3), 1, 0,
     "Spectral radius ρ: 'to' must be a number in 0.0..10.0, got 12.0"),
    (AxisChoice("rho", 0.5, 2.0, 40), AxisChoice("seq_len", 5, 20, 3), 1, 0,
     "Spectral radius ρ: points must be an integer in 2..24, got 40"),
    (AxisChoice("rho", 0.5, 2.0, 4), AxisChoice("rho", 5, 20, 3), 1, 0,
     "the two axes must be different fields, got Spectral radius ρ twice"),
    (AxisChoice("rho", 0.5, 2.0, 4), AxisChoice("max_steps", 5, 20, 3), 1, 0,
     "a phase-diagram axis must be one of rho, seq_len, hidden_size, num_layers, batch_size, lr, clip_threshold, "
     "noise, n_waves, parity_bits, seed, got 'max_steps'"),
    (AxisChoice("rho", 0.0, 2.0, 4, log=True), AxisChoice("seq_len", 5, 20, 3), 1, 0,
     "Spectral radius ρ: log spacing needs 'from' > 0, got from=0"),
    (AxisChoice("rho", 0.5, 2.0, 4), AxisChoice("seq_len", 5, 5.4, 3), 1, 0,
     "Sequence length / lag T: the range 5..5.4 holds one integer value, got (5,)"),
    (AxisChoice("rho", 0.5, 2.0, 4), AxisChoice("seq_len", 5, 20, 3), 9, 0, "seeds must be an integer in 1..5, got 9"),
    (AxisChoice("rho", 0.5, 2.0, 4), AxisChoice("seq_len", 5, 20, 3), 1, 900,
     "training steps must be an integer in 0..500, got 900"),
])
def test_bad_grids_are_refused_with_the_rule_and_the_value(y, x, seeds, steps, message):
    with pytest.raises(RnnvizError) as e:
        phase_grid(small(), y, x, seeds, steps)
    assert str(e.value) == message


def test_an_axis_that_does_not_act_under_the_live_config_is_refused():
    with pytest.raises(RnnvizError) as e:
        rho_by_len(ExperimentConfig())
    assert str(e.value) == ("Spectral radius ρ only matters when Initialisation of W_hh is scaled to spectral "
                            "radius ρ, got Initialisation of W_hh = PyTorch default: change it in the sidebar "
                            "or choose another axis")


def test_a_grid_over_the_compute_cap_is_refused():
    base = ExperimentConfig(init="scaled", hidden_size=128, batch_size=64)
    with pytest.raises(RnnvizError, match=r"^a phase grid must be estimated at most 240 s of compute, got \d+ s "
                                          r"for 24 x 24 points x 5 seed\(s\) x 501 steps: fewer points, seeds or "
                                          r"steps$"):
        phase_grid(base, AxisChoice("rho", 0.5, 2.0, 24), AxisChoice("seq_len", 50, 200, 24), 5, 500)


def test_a_grid_point_that_breaks_a_config_rule_refuses_the_grid():
    with pytest.raises(RnnvizError, match=r"^grid point rho=0\.5, parity_bits=16 breaks a config rule"):
        phase_grid(small(task="parity", seq_len=10), AxisChoice("rho", 0.5, 2.0, 3),
                   AxisChoice("parity_bits", 1, 16, 3))


# ------------------------------------------------------------------------------------- theory lines
def _table(cell="rnn_tanh", seeds=5, task="adding"):
    job = PhaseJob(rho_by_len(small(cell=cell, task=task), rho=(0.5, 2.0, 16), seq=(10, 40, 2), seeds=seeds))
    run(job)
    return job.table()


def _value_at(values, r: float) -> float:
    i = int(math.floor(r))
    return values[i] + (r - i) * (values[i + 1] - values[i])


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_lines_sit_where_sigma_max_and_the_radius_times_gamma_reach_one(cell):
    t = _table(cell)
    lines, words = theory_lines(t, loss_at_end_only=True)
    sigma, radius = lines
    g = cells.get(cell).gamma
    assert sigma.name == "sigma" and radius.name == "radius" and sigma.under_one == radius.under_one == "below"
    for j in range(2):
        assert _value_at(t.sigma_max[:, j], sigma.rows[j]) == pytest.approx(1 / g, rel=1e-9)
        # with init=scaled the radius is rho itself: the dashed line is at rho = 1/gamma
        assert _value_at(t.grid.y.values, radius.rows[j]) == pytest.approx(1 / g, rel=1e-5)
    assert sigma.rows[0] < radius.rows[0]  # sigma_max >= rho: the per-step guarantee needs a smaller rho
    assert words.startswith("Below the solid line σ_max(W_hh)·γ < 1 (median over the seeds): that bounds every "
                            "backward step (γ = 1 for ")
    assert "there the ratio is at most (γσ_max)^(T−1) < 1" in words


def test_the_line_moves_with_gamma(monkeypatch):
    t = _table("rnn_tanh", seeds=1)
    half = dataclasses.replace(cells.get("rnn_tanh"), gamma=0.8)
    monkeypatch.setattr(ph.cells, "get", lambda name: half)
    sigma, radius = theory_lines(t, True)[0]
    assert _value_at(t.sigma_max[:, 0], sigma.rows[0]) == pytest.approx(1.25, rel=1e-9)
    assert _value_at(t.grid.y.values, radius.rows[0]) == pytest.approx(1.25, rel=1e-5)


def test_with_a_loss_at_every_step_the_line_says_it_bounds_no_ratio():
    _lines, words = theory_lines(_table(seeds=1, task="copy"), loss_at_end_only=False)
    assert "the loss also enters at every step here, so the ratio itself is not bounded" in words


@pytest.mark.parametrize("cell, words", [
    ("lstm", "No theory line: in the LSTM, h_t depends on h_(t−1) through gates and the cell state, "
             "so σ_max(W_hh)·γ bounds no step."),
    ("gru", "No theory line: in the GRU, h_t depends on h_(t−1) through gates, so σ_max(W_hh)·γ bounds no step."),
])
def test_gated_cells_get_no_line(cell, words):
    assert theory_lines(_table(cell, seeds=1), True) == ([], words)


def test_a_grid_that_never_crosses_says_so_with_its_range():
    job = PhaseJob(rho_by_len(small(), rho=(1.5, 2.0, 3)))
    run(job)
    t = job.table()
    lines, words = theory_lines(t, True)
    assert [ln.name for ln in lines] == []
    lo, hi = t.sigma_max.min(), t.sigma_max.max()
    assert words == (f"σ_max(W_hh)·γ is {lo:.3g} to {hi:.3g} here, never 1 (γ = 1): no per-step guarantee "
                     f"anywhere in this grid.")


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_below_the_solid_line_every_seed_vanishes_within_the_bound(cell):
    """What the caption claims, per seed (0-4), not per median: sigma_max * gamma < 1 gives a ratio at most
    (gamma sigma_max)^(T-1) < 1 when the loss enters at h_T only (the adding task)."""
    g = cells.get(cell).gamma
    configs = [small(cell=cell, seed=s, rho=r, seq_len=L) for s in range(5) for r in (0.3, 0.4, 0.5, 0.55)
               for L in (5, 20, 60)]
    checked = 0
    for c, st in zip(configs, init_stats(configs), strict=True):
        if st.sigma_max * g < 1:
            checked += 1
            assert st.grad_ratio <= (g * st.sigma_max) ** (c.length - 1) * (1 + 1e-4) < 1
    assert checked >= 30


def test_the_live_config_sits_at_its_values_on_the_grid():
    grid = rho_by_len(small(rho=1.25, seq_len=15))  # rho 0.5, 1.0, 1.5, 2.0; seq_len 5, 12, 20 (rounded)
    row, col = grid.live_position()
    assert row == pytest.approx(1.5) and col == pytest.approx(1 + 3 / 8)
    assert all(math.isnan(v) for v in rho_by_len(small(rho=3.0, seq_len=50)).live_position())


def test_grids_that_differ_only_in_training_settings_share_their_numbers_at_init():
    a = rho_by_len(small(lr=0.01, optimizer="adam", probe_size=2, max_steps=77))
    b = rho_by_len(small(lr=0.5, optimizer="sgd", clip="norm", clip_threshold=3.0))
    assert a.key == b.key and a != b
    ja, jb = PhaseJob(a), PhaseJob(b)
    run(ja), run(jb)
    for name in ("ratio", "sigma_max", "spectral_radius"):
        np.testing.assert_array_equal(getattr(ja.table(), name), getattr(jb.table(), name))
    assert a.config_at(0, 0).lr == 0.01 and b.config_at(0, 0).lr == 0.5  # a click keeps each session's own
    trained = [rho_by_len(c.base, steps=3) for c in (a, b)]
    assert trained[0].key != trained[1].key  # after training they differ
    assert rho_by_len(small(seed=1)).key != a.key
