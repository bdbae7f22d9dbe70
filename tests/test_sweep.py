"""rnnviz.sweep and `python -m rnnviz sweep`: grid parsing, planning, the CSV contract, and the batched
step-0 numbers against one rnnviz.trace per config (the app's own recording)."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch

from rnnviz.analysis import gradient_ratio, spectra
from rnnviz.cli import main
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.models import build_model
from rnnviz.sweep import PHASE_COLUMNS, GridAxis, init_stats, parse_axis, phase_rows, plan
from rnnviz.tasks import make_task
from rnnviz.trace import trace
from rnnviz.trainer import Trainer, limit_threads

SEEDS = range(5)


@pytest.fixture(autouse=True)
def one_thread():
    previous = limit_threads(1)  # as the CLI and the app: the batched kernels then match trace's
    yield
    limit_threads(previous)


# ------------------------------------------------------------------------------------------ grid


def test_linear_axis_is_exact_linspace():
    ax = parse_axis("rho=0.5:2.0:4")
    assert ax == GridAxis("rho", (0.5, 1.0, 1.5, 2.0))
    assert parse_axis(" lr = 0.1 : 0.1 : 1 ").values == (0.1,)


def test_log_axis_is_geometric_with_exact_ends():
    ax = parse_axis("lr=1e-4:1e-1:4:log")
    assert ax.values[0] == 1e-4 and ax.values[-1] == 1e-1
    np.testing.assert_allclose(ax.values, [1e-4, 1e-3, 1e-2, 1e-1], rtol=1e-12)
    ratios = np.diff(np.log(ax.values))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)


def test_integer_axes_are_rounded_and_deduplicated():
    assert parse_axis("seq_len=10:200:20").values == tuple(range(10, 201, 10))
    assert parse_axis("seq_len=10:1000:5:log").values == (10, 32, 100, 316, 1000)
    ax = parse_axis("hidden_size=1:4:10")  # 1, 1.33, 1.67, 2, ... -> 1, 1, 2, 2, 2, 3, 3, 3, 4, 4
    assert ax.values == (1, 2, 3, 4)
    assert all(type(v) is int for v in ax.values)
    assert parse_axis("num_layers=1:3:7:log").values == (1, 2, 3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rho", "--grid takes FIELD=LO:HI:N or FIELD=LO:HI:N:log, got 'rho'"),
        ("rho=0.5:2", "--grid takes FIELD=LO:HI:N or FIELD=LO:HI:N:log, got 'rho=0.5:2'"),
        ("rho=0.5:2:3:lin", "--grid takes FIELD=LO:HI:N or FIELD=LO:HI:N:log (the 4th part can only be 'log'), "
                            "got 'lin' in 'rho=0.5:2:3:lin'"),
        ("cell=1:2:3", "--grid FIELD must be an int or float config field (hidden_size, num_layers, seq_len, "
                       "noise, n_waves, parity_bits, batch_size, lr, clip_threshold, rho, seed, record_every, "
                       "max_steps, probe_size, checkpoint_every, pause_grad_norm), got 'cell' (a choice field)"),
        ("bidirectional=0:1:2", "got 'bidirectional' (a bool field)"),
        ("gamma=1:2:3", "got 'gamma' (not a config field)"),
        ("rho=abc:2:3", "--grid rho: LO must be a number, got 'abc'"),
        ("rho=0.5:inf:3", "--grid rho: HI must be a finite number, got 'inf'"),
        ("rho=0.5:2:x", "--grid rho: N must be an integer in 1..1000, got 'x'"),
        ("rho=0.5:2:0", "--grid rho: N must be an integer in 1..1000, got 0"),
        ("rho=0.5:2:1001", "--grid rho: N must be an integer in 1..1000, got 1001"),
        ("rho=2:0.5:3", "--grid rho: LO must be at most HI, got LO=2 > HI=0.5"),
        ("rho=0.5:2:1", "--grid rho: N = 1 needs LO = HI (one value), got LO=0.5, HI=2"),
        ("rho=0:2:3:log", "--grid rho: log spacing needs LO > 0, got LO=0"),
        ("rho=0.5:20:3", "--grid rho: every value must be a number in 0.0..10.0, got 10.25 (from 'rho=0.5:20:3')"),
        ("seq_len=1:10:3", "--grid seq_len: every value must be an integer in 2..1000, got 1"),
    ],
)
def test_bad_axis_specs_name_the_rule_and_the_value(spec, message):
    with pytest.raises(RnnvizError) as e:
        parse_axis(spec)
    assert message in str(e.value)


def test_plan_is_the_product_with_seeds_and_validated_configs():
    base = PRESETS["vanishing-tanh"].config.replace(seed=7)
    pts = plan(base, [parse_axis("rho=0.5:1.5:3"), parse_axis("seq_len=10:20:2")], seeds=2)
    assert [p.values for p in pts] == [(0.5, 10), (0.5, 20), (1.0, 10), (1.0, 20), (1.5, 10), (1.5, 20)]
    assert all(isinstance(c, ExperimentConfig) for p in pts for c in p.configs)
    assert [c.seed for c in pts[0].configs] == [7, 8]
    assert pts[3].configs[1] == base.replace(rho=1.0, seq_len=20, seed=8)


def test_plan_refuses_the_whole_sweep_on_one_invalid_point():
    base = ExperimentConfig(task="adding", batch_size=256, hidden_size=128)
    ExperimentConfig(task="adding", batch_size=256, hidden_size=128, seq_len=100)  # the first point fits
    with pytest.raises(RnnvizError) as e:
        plan(base, [parse_axis("seq_len=100:400:2")])  # 256 x 400 x 128: over the step-cost rule
    msg = str(e.value)
    assert msg.startswith("grid point seq_len=400 breaks a config rule, so the sweep is refused: one training "
                          "step must be estimated at most 0.3 s")
    assert "hidden_size=128" in msg and "length=400" in msg and "batch_size=256" in msg
    with pytest.raises(RnnvizError, match=r"grid point parity_bits=10 breaks a config rule.*parity_bits must be "
                                          r"at most seq_len=8, got 10"):
        plan(ExperimentConfig(task="parity", seq_len=8), [parse_axis("parity_bits=2:10:2")])


def test_plan_argument_errors():
    base = ExperimentConfig()
    with pytest.raises(RnnvizError, match="a sweep needs at least one --grid axis, got none"):
        plan(base, [])
    with pytest.raises(RnnvizError, match="--grid fields must be distinct, got rho more than once"):
        plan(base, [parse_axis("rho=1:2:2"), parse_axis("rho=1:3:2")])
    with pytest.raises(RnnvizError, match="seeds must be 1 when seed is a grid axis .*, got 3"):
        plan(base, [parse_axis("seed=0:4:5")], seeds=3)
    with pytest.raises(RnnvizError, match="seeds must be an integer >= 1, got 0"):
        plan(base, [parse_axis("rho=1:2:2")], seeds=0)
    with pytest.raises(RnnvizError, match="a sweep must have at most 100,000 configs .*, got 1,000,000"):
        plan(base, [parse_axis("rho=0.1:2:1000"), parse_axis("lr=0.001:0.1:1000")])


# ------------------------------------------------------------------------------ batched vs trace


def _app_step0(config: ExperimentConfig):
    """What the app records at step 0: the Trainer's first record (its trace of the first batch) and
    its W_hh spectra."""
    tr = Trainer(config)
    rec = tr.step(1)[0]
    return rec


def _reference(config: ExperimentConfig):
    """One rnnviz.trace of the app's model on the app's first training batch."""
    task = make_task(config)
    model = build_model(config, task.input_size, task.output_size)
    batch = task.sample(config.batch_size, torch.Generator().manual_seed(config.seed))
    tr = trace(model.rnn, batch.x, lambda out, h_n: task.loss(model.head(out), batch))
    H = config.hidden_size
    sv, ev = spectra(model.rnn.weight_hh_l0.detach().numpy().reshape(-1, H, H))  # per gate block
    return gradient_ratio(tr.grad_norms[0, 0]), float(sv[:, 0].max()), float(np.abs(ev[:, 0]).max())


def _assert_close(got: float, want: float, rtol: float):
    if math.isnan(want) or want == 0.0 or math.isinf(want):
        assert got == want or (math.isnan(got) and math.isnan(want)), (got, want)
    else:
        assert abs(got - want) <= rtol * abs(want), (got, want, abs(got - want) / abs(want))


CELL_CASES = {
    # the chaotic corner (rho 2, long) and the vanishing one, odd shapes, every cell and a second task
    "rnn_tanh": [dict(rho=2.0, seq_len=200), dict(rho=0.7, seq_len=60), dict(rho=1.5, seq_len=37, hidden_size=13,
                                                                           batch_size=7)],
    "rnn_relu": [dict(rho=1.0, seq_len=120), dict(rho=0.5, seq_len=25, hidden_size=10, batch_size=5)],
    "lstm": [dict(rho=2.0, seq_len=100), dict(rho=0.9, seq_len=30, hidden_size=13, batch_size=7,
                                              forget_bias="chrono", task="copy")],
    "gru": [dict(rho=2.0, seq_len=100), dict(rho=1.2, seq_len=41, hidden_size=9, batch_size=3,
                                             task="temporal_order")],
}


@pytest.mark.parametrize("cell", list(CELL_CASES))
def test_batched_values_equal_one_trace_per_config(cell):
    base = PRESETS["vanishing-tanh"].config.replace(cell=cell, hidden_size=32, batch_size=16)
    configs = [base.replace(seed=s, **case) for case in CELL_CASES[cell] for s in SEEDS]
    stats = init_stats(configs)
    assert len(stats) == len(configs)
    for c, st in zip(configs, stats, strict=True):
        ratio, sigma, radius = _reference(c)
        _assert_close(st.grad_ratio, ratio, 1e-6)
        _assert_close(st.sigma_max, sigma, 1e-9)
        _assert_close(st.spectral_radius, radius, 1e-9)
        if c.init == "scaled":
            assert abs(st.spectral_radius - c.rho) < 1e-5 * c.rho  # every block scaled to rho


def test_batched_ratio_is_the_apps_step0_ratio():
    """The sweep's number is what the app shows at step 0 (Trainer's record of its first batch)."""
    configs = [PRESETS["vanishing-tanh"].config.replace(seed=s, seq_len=40, hidden_size=16, batch_size=8)
               for s in SEEDS]
    for c, st in zip(configs, init_stats(configs), strict=True):
        rec = _app_step0(c)
        _assert_close(st.grad_ratio, gradient_ratio(rec.grad_norms[0, 0]), 1e-6)
        _assert_close(st.sigma_max, float(rec.singular_values[0, 0].max()), 1e-6)


def test_a_configs_numbers_do_not_depend_on_its_batch_mates():
    """Every config's block is laid out and aligned as in its own trace, so the batch composition
    changes no bit (a resumed sweep recomputes a subset)."""
    for cell in ("rnn_tanh", "lstm", "gru"):
        base = ExperimentConfig(cell=cell, hidden_size=11, batch_size=5, seq_len=30, init="scaled", rho=1.7)
        configs = [base.replace(seed=s) for s in SEEDS]
        whole, part = init_stats(configs), init_stats(configs[2:])
        assert [s.grad_ratio for s in whole[2:]] == [s.grad_ratio for s in part]


def test_deep_and_bidirectional_models_fall_back_to_trace():
    base = ExperimentConfig(hidden_size=8, batch_size=4, seq_len=20, init="scaled", rho=1.3)
    configs = [base.replace(num_layers=2, seed=s) for s in SEEDS] + [base.replace(bidirectional=True, seed=s)
                                                                      for s in SEEDS]
    seen = []
    stats = init_stats(configs, progress=seen.append)
    assert seen[-1] == len(configs) and seen == sorted(seen)
    for c, st in zip(configs, stats, strict=True):
        ratio, sigma, radius = _reference(c)
        _assert_close(st.grad_ratio, ratio, 1e-6)
        _assert_close(st.sigma_max, sigma, 1e-9)


def test_mixed_shapes_keep_their_order():
    base = ExperimentConfig(hidden_size=8, batch_size=4, init="scaled")
    configs = [base.replace(seq_len=L, rho=r, cell=cell) for L, r, cell in
               [(30, 1.0, "gru"), (10, 0.5, "rnn_tanh"), (30, 1.5, "rnn_tanh"), (10, 2.0, "lstm")]]
    # chrono's forget bias depends on the length: two lengths must not share a cached model
    configs += [base.replace(cell="lstm", forget_bias="chrono", seq_len=L) for L in (10, 30)]
    for c, st in zip(configs, init_stats(configs), strict=True):
        _assert_close(st.grad_ratio, _reference(c)[0], 1e-6)


def test_phase_rows_take_medians_and_extremes_over_seeds():
    from rnnviz.sweep import InitStats, SweepPoint

    axes = [GridAxis("rho", (1.0,))]
    pts = [SweepPoint((1.0,), (ExperimentConfig(),) * 3)]
    stats = [InitStats(1.0, 0.9, 1e-3), InitStats(3.0, 1.1, 1e-5), InitStats(2.0, 1.0, 1e-1)]
    (row,) = phase_rows(pts, stats, axes)
    assert row == dict(rho=1.0, sigma_max=2.0, spectral_radius=1.0, grad_ratio=1e-3, grad_ratio_min=1e-5,
                       grad_ratio_max=1e-1)


# ------------------------------------------------------------------------------------------- CLI

SMALL = ["--preset", "vanishing-tanh", "--set", "hidden_size=16", "--set", "batch_size=8"]


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_cli_csv_contract(tmp_path, capsys):
    out = tmp_path / "phase.csv"
    rc = main(["sweep", *SMALL, "--grid", "rho=0.5:2.0:4", "--grid", "seq_len=10:40:7", "--seeds", "3",
               "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    rows = _read_csv(out)
    assert rows[0] == ["rho", "seq_len", *PHASE_COLUMNS]
    # seq_len 10, 15, 20, 25, 30, 35, 40: 4 x 7 points, one row each, first axis outermost
    assert len(rows) == 1 + 28
    assert [(float(r[0]), int(r[1])) for r in rows[1:8]] == [(0.5, L) for L in range(10, 41, 5)]
    assert f"wrote {out}: 28 points (4 rho x 7 seq_len) x 3 seeds; 84 configs computed in" in cap.out
    assert "84/84" in cap.err and "configs/s" in cap.err  # progress on stderr
    # the numbers are the library's, per point the median over seeds 0, 1, 2
    base = PRESETS["vanishing-tanh"].config.replace(hidden_size=16, batch_size=8)
    configs = [base.replace(rho=1.5, seq_len=25, seed=s) for s in range(3)]
    ratios = [_reference(c)[0] for c in configs]
    row = next(r for r in rows[1:] if float(r[0]) == 1.5 and r[1] == "25")
    _assert_close(float(row[4]), float(np.median(ratios)), 1e-6)
    _assert_close(float(row[5]), min(ratios), 1e-6)
    _assert_close(float(row[6]), max(ratios), 1e-6)
    assert abs(float(row[3]) - 1.5) < 1e-6  # spectral radius = rho (init=scaled)
    assert float(row[2]) >= float(row[3])  # sigma_max >= spectral radius


def test_cli_csv_dedups_rounded_ints_and_logs(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["sweep", *SMALL, "--set", "seq_len=12", "--grid", "hidden_size=1:4:10", "--grid",
                 "lr=0.001:0.1:3:log", "--out", str(out), "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""  # --quiet
    rows = _read_csv(out)
    assert rows[0][:2] == ["hidden_size", "lr"] and len(rows) == 1 + 4 * 3
    assert sorted({int(r[0]) for r in rows[1:]}) == [1, 2, 3, 4]
    lrs = sorted({float(r[1]) for r in rows[1:]})
    np.testing.assert_allclose(lrs, [1e-3, 1e-2, 1e-1], rtol=1e-12)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "rho=2:1:3"], "rnnviz: error: --grid rho: LO must be at most HI, got LO=2 > HI=1\n"),
        (["--grid", "cell=0:1:2"], "got 'cell' (a choice field)\n"),
        (["--grid", "seq_len=100:900:2", "--set", "batch_size=256"],
         "rnnviz: error: grid point seq_len=900 breaks a config rule, so the sweep is refused: "),
        (["--grid", "rho=1:2:2", "--set", "bogus=1"], "rnnviz: error: --set keys must be config fields"),
        (["--grid", "rho=1:2:2", "--preset", "nope"], "rnnviz: error: preset must be one of"),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "never.csv"
    rc = main(["sweep", *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_cli_needs_a_grid(capsys):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--preset", "vanishing-tanh"])
    assert e.value.code == 2
    assert "the following arguments are required: --grid" in capsys.readouterr().err


def test_cli_sweep_help_says_invalid_points_refuse_the_sweep(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "one invalid point refuses the whole sweep" in text


def test_csv_floats_round_trip():
    from rnnviz.sweep import rows_to_csv

    text = rows_to_csv([dict(rho=0.1 + 0.2, seq_len=10, grad_ratio=math.nan, grad_ratio_min=None)],
                       ["rho", "seq_len", "grad_ratio", "grad_ratio_min"])
    (header, row) = list(csv.reader(io.StringIO(text)))
    assert float(row[0]) == 0.1 + 0.2 and row[1] == "10" and row[2] == "nan" and row[3] == ""


# ------------------------------------------------------------------------------- training sweeps

from rnnviz.sweep import TRAIN_COLUMNS, TrainResult, run_sweep, train_columns, train_one  # noqa: E402

TINY = ExperimentConfig(task="adding", seq_len=8, hidden_size=8, batch_size=8, optimizer="adam", lr=0.02,
                        record_every=5)
TINY_AXES = [GridAxis("lr", (0.002, 0.02, 0.05)), GridAxis("seq_len", (6, 12))]
STEPS = 25


def test_train_one_is_the_trainers_run():
    c = TINY.replace(seed=3)
    r = train_one(c, STEPS, 0.5)
    t = Trainer(c.replace(max_steps=STEPS))
    t.step(STEPS)
    losses = t.history.scalars["loss"]
    assert r.steps == STEPS and r.state == "finished" and r.final_loss == float(losses[-1])
    assert r.baseline_loss == pytest.approx(1 / 6)
    below = np.flatnonzero(losses <= 0.5 * r.baseline_loss)
    assert r.first_success_step == (int(below[0]) if len(below) else None)
    assert train_one(c, STEPS, 0.5) == r  # deterministic


def test_train_one_stops_at_divergence():
    c = ExperimentConfig(cell="rnn_relu", init="scaled", rho=3.0, optimizer="sgd", lr=5.0, clip="none",
                         hidden_size=8, seq_len=40, batch_size=8, record_every=50)
    r = train_one(c, 200, 0.5)
    assert r.state == "diverged" and r.steps < 200
    assert train_columns([r], 0.5)["success_rate"] == 0.0
    # a diverged run never counts as a success, whatever its last loss
    assert train_columns([TrainResult(0.01, 0, 3, "diverged", 1.0)], 0.5)["success_rate"] == 0.0


def test_train_columns_medians_rates_and_never():
    def res(loss, first):
        return TrainResult(loss, first, 100, "finished", 1.0)

    got = train_columns([res(0.2, 10), res(0.9, None), res(0.4, 30)], 0.5)
    assert got == dict(final_loss=0.4, success_rate=2 / 3, steps_to_success=30.0)
    got = train_columns([res(0.2, 10), res(0.9, None), res(0.6, None)], 0.5)
    assert got["steps_to_success"] is None and got["success_rate"] == 1 / 3
    assert train_columns([res(math.nan, None), res(0.1, 5)], 0.5)["final_loss"] != 0.1  # nan shows


def _train_sweep(path, **kw):
    return run_sweep(TINY, TINY_AXES, 2, path, train=STEPS, success=0.8, **kw)


def test_training_sweep_rows_and_pool_equal_in_process(tmp_path):
    a, b = tmp_path / "serial.csv", tmp_path / "pool.csv"
    assert _train_sweep(a, workers=1) == (6, 6)
    assert _train_sweep(b, workers=2) == (6, 6)
    assert a.read_text() == b.read_text()  # deterministic runs: the pool changes nothing
    rows = _read_csv(a)
    assert rows[0] == ["lr", "seq_len", *PHASE_COLUMNS, *TRAIN_COLUMNS] and len(rows) == 7
    # one point checked against train_one directly
    row = next(r for r in rows[1:] if r[0] == "0.02" and r[1] == "12")
    results = [train_one(TINY.replace(lr=0.02, seq_len=12, seed=s), STEPS, 0.8) for s in (0, 1)]
    want = train_columns(results, 0.8)
    assert float(row[7]) == want["final_loss"] and float(row[8]) == want["success_rate"]
    assert row[9] == ("" if want["steps_to_success"] is None else repr(float(want["steps_to_success"])))
    rates = {float(r[8]) for r in rows[1:]}
    assert rates <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize("workers", [1, 2])
def test_training_sweep_resumes_after_an_interrupt(tmp_path, workers):
    full, cut = tmp_path / "full.csv", tmp_path / "cut.csv"
    _train_sweep(full, workers=1)  # the pool gives the same file (test above)
    seen = []

    def stop_after_two(row):
        seen.append(row)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train_sweep(cut, workers=workers, on_row=stop_after_two)
    partial = _read_csv(cut)
    assert len(partial) == 1 + 2  # header + the two finished points
    computed = []
    assert _train_sweep(cut, workers=workers, on_row=computed.append) == (6, 4)  # the two are skipped
    assert len(computed) == 4
    assert cut.read_text() == full.read_text()


def test_resume_refuses_a_different_sweep(tmp_path):
    out = tmp_path / "s.csv"
    run_sweep(TINY, [GridAxis("lr", (0.01,))], 1, out)
    with pytest.raises(RnnvizError, match=r"holds a different sweep \(see s.csv.sweep.json\); resuming needs the "
                                          r"same preset, --set, --grid, --seeds and --train"):
        run_sweep(TINY.replace(hidden_size=9), [GridAxis("lr", (0.01,))], 1, out)
    assert _read_csv(out)[1][0] == "0.01"  # the old results are untouched


def test_cli_training_sweep_and_flag_rules(tmp_path, capsys):
    out = tmp_path / "t.csv"
    argv = ["sweep", "--set", "seq_len=8", "--set", "hidden_size=8", "--set", "batch_size=8",
            "--set", "record_every=5", "--grid", "lr=0.005:0.02:2", "--out", str(out)]
    assert main([*argv, "--train", "20", "--workers", "1", "--success", "0.9"]) == 0
    cap = capsys.readouterr()
    assert "2/2" in cap.err and "runs/s" in cap.err
    assert _read_csv(out)[0][-3:] == list(TRAIN_COLUMNS)
    assert main([*argv, "--train", "20", "--workers", "1", "--success", "0.9"]) == 0  # all done: resumed
    assert "2 points (2 lr) x 1 seeds, 2 kept from an earlier run; 0 configs computed" in capsys.readouterr().out
    assert main([*argv, "--workers", "2"]) == 2
    assert "rnnviz: error: --workers only apply to a training sweep (--train STEPS), got no --train" in \
        capsys.readouterr().err
    assert main([*argv, "--train", "5", "--success", "0"]) == 2
    assert "--success must be a number > 0" in capsys.readouterr().err


def test_ray_missing_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the optional extra were not installed
    with pytest.raises(RnnvizError, match=r"--ray needs the optional Ray extra \(pip install -e .\[cluster\], "
                                          r"i.e. ray==2.60.0\), got no module named 'ray'"):
        run_sweep(TINY, [GridAxis("lr", (0.01,))], 1, tmp_path / "r.csv", train=3, ray="local")
