"""rnnviz.sweep and `python -m rnnviz sweep`: grid parsing, planning, the CSV contract, and the batched
step-0 numbers against one rnnviz.trace per config (the app's own recording)."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch

from rnnviz.analysis import gate_spectra, gradient_ratio
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
    base = ExperimentConfig(task="adding", batch_size=256, hidden_size=64)
    with pytest.raises(RnnvizError) as e:
        plan(base, [parse_axis("seq_len=100:400:2")])  # 256 x 400 x 64 > MAX_STEP_WORK; 256 x 100 x 64 fits
    msg = str(e.value)
    assert msg.startswith("grid point seq_len=400 breaks a config rule, so the sweep is refused: batch_size x "
                          "length x hidden_size x num_layers x directions must be at most 4,194,304")
    assert "got 256 x 400 x 64 x 1 x 1 = 6,553,600" in msg
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
    W = model.rnn.weight_hh_l0.detach().numpy()
    spectra = gate_spectra(W, config.cell).values()
    return (gradient_ratio(tr.grad_norms[0, 0]), max(s.sigma_max for s in spectra),
            max(s.spectral_radius for s in spectra))


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
    assert "28 points (4 rho x 7 seq_len) x 3 seeds = 84 configs" in cap.out
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
