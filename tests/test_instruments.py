"""Instruments (rnnviz/instruments.py): each note fires on data built to trigger it, with the numbers it
quotes, and stays silent on data where it must."""

import numpy as np
import pytest

from rnnviz import cells, instruments
from rnnviz.config import ExperimentConfig
from rnnviz.instruments import Run
from rnnviz.recording import RunHistory, StepRecord

L, H, P = 20, 6, 2


def record(step, *, cell="lstm", loss=1.0, clipped=False, grad=None, gates=None, hidden=None, sv=None, eig=None,
           layers=1, directions=1):
    """A record of ``cell``'s shapes; ``grad`` (L,) the gradient curve, ``gates``/``hidden`` (P, L, H)."""
    c = cells.get(cell)
    G = len(c.blocks)
    shape = (layers, directions, P, L, H)
    g = np.ones(L) if grad is None else np.asarray(grad)
    rec = StepRecord(step=step, loss=loss, metric=0.0, grad_norm=1.0, grad_norm_clipped=1.0, clipped=clipped,
                     lr=1e-3, finite=True,
                     grad_norms=np.broadcast_to(g, (layers, directions, L)).astype(np.float32).copy(),
                     cell_grad_norms=np.ones((layers, directions, L), np.float32) if cell == "lstm" else None,
                     input_grad_norms=np.ones(L, np.float32),
                     param_grad_norms={b: np.ones((layers, directions), np.float32) for b in c.param_blocks},
                     singular_values=np.full((layers, directions, G, H), 0.5 if sv is None else sv, np.float32),
                     eigenvalues=np.full((layers, directions, G, H), 0.4 if eig is None else eig, np.complex64))
    h = np.zeros(shape) if hidden is None else np.broadcast_to(hidden, shape)
    rec.hidden = h.astype(np.float32 if cell == "rnn_relu" else np.float16)
    given = gates or {}
    rec.gates = {k: np.broadcast_to(given.get(k, 0.5), shape).astype(np.float16) for k in c.gates}
    if cell == "lstm":
        rec.cell = np.zeros(shape, np.float16)
    rec.prediction = np.zeros((P, L, 1), np.float32)
    return rec


def history(records):
    h = RunHistory()
    for r in records:
        h.append(r)
    return h


def run(records, baseline=None, step=None, layer=0, direction=0, **config):
    config = ExperimentConfig(**{"cell": "lstm", "hidden_size": H, "seq_len": L, "probe_size": P, **config})
    return Run(history(records), config, baseline, step, layer, direction)


# ------------------------------------------------------------------------------------------- gradient depth


def test_gradient_depth_names_how_far_back_the_gradient_survives():
    g = np.logspace(-10, 0, L)  # 1 at t=T, 10^(-10 (T-t)/(L-1)) before: below 1e-6 first at 12 steps back
    k = int(np.flatnonzero(g[::-1] < 1e-6)[0])
    assert k == 12
    note = instruments.gradient_depth(run([record(0, grad=g)], cell="lstm"))
    assert note == ("The gradient ||dL/dh_t|| falls below 1e-6 of its value at t=T 12 steps back (at t=8) "
                    "(training step 0).")


def test_gradient_depth_says_exactly_zero_and_reads_the_backward_direction_from_t1():
    g = np.ones(L)
    g[:5] = 0.0
    note = instruments.gradient_depth(run([record(0, grad=g)]))
    assert "15 steps back (at t=5) (to exactly 0)" in note
    back = run([record(0, grad=g[::-1].copy(), directions=2)], direction=1, bidirectional=True, task="adding")
    assert "below 1e-6 of its value at t=1 15 steps back (at t=16) (to exactly 0) (training step 0, backward)" \
        in instruments.gradient_depth(back)


@pytest.mark.parametrize("g", [np.logspace(-5, 0, L), np.ones(L), np.r_[np.ones(L - 1), 0.0],
                               np.r_[np.ones(L - 1), np.inf]])
def test_gradient_depth_is_silent_when_the_gradient_survives_or_has_no_end_value(g):
    assert instruments.gradient_depth(run([record(0, grad=g)])) is None


# ------------------------------------------------------------------------------------------------- clipping


def test_clipping_quotes_the_share_of_the_last_100_steps():
    recs = [record(s, clipped=(s >= 162)) for s in range(200)]  # the last 100: steps 100..199, 38 clipped
    note = instruments.clipping(run(recs, clip="norm", clip_threshold=1.0))
    assert note == ("Clipping fired on 38% of the last 100 steps (38 of them, up to step 199): there the gradient "
                    "norm ||g|| was above 1 and was rescaled to 1.")
    by_value = instruments.clipping(run(recs[:10] + [record(10, clipped=True)], clip="value", clip_threshold=0.5))
    assert by_value == ("Clipping fired on 9% of the last 11 steps (1 of them, up to step 10): there some gradient "
                        "entry was outside ±0.5 and was cut to ±0.5.")


def test_clipping_reads_up_to_the_step_shown():
    recs = [record(s, clipped=s < 10) for s in range(50)]
    note = instruments.clipping(run(recs, step=9, clip="norm"))
    assert "100% of the last 10 steps (10 of them, up to step 9)" in note


def test_clipping_is_silent_without_clipping_or_when_it_never_fired():
    assert instruments.clipping(run([record(s, clipped=True) for s in range(5)], clip="none")) is None
    recs = [record(s, clipped=s < 50) for s in range(200)]  # fired, but not in the last 100
    assert instruments.clipping(run(recs, clip="norm")) is None


# ----------------------------------------------------------------------------------------------- carry path


def test_carry_path_lstm_forget_gates_and_their_product():
    f = np.full((P, L, H), 0.96)
    note = instruments.carry_path(run([record(0, gates={"f": f})]))
    f16 = float(np.float16(0.96))
    kept = f16 ** (L - 1)
    assert note == (f"Forget gates f_t average {f16:.2f} on the probe sequences; along the cell's own path "
                    f"c_(t−1) → c_t, ×f_t per step, a unit keeps on average {kept:.0%} of a gradient across "
                    f"the {L - 1} steps from one end of the sequence to the other (the product of its f_t; "
                    f"training step 0).")
    assert f"{kept:.0%}" == "46%"


def test_carry_path_averages_the_products_over_units_and_skips_the_first_step():
    f = np.ones((P, L, H))
    f[:, 0, :] = 0.0  # the first step's f multiplies c_0 = 0: not on the path from t=1 to T
    f[:, 5, :3] = 0.5  # half the units lose half
    note = instruments.carry_path(run([record(0, gates={"f": f})]))
    assert "keeps on average 75% of a gradient" in note
    back = run([record(0, gates={"f": f[:, ::-1]}, directions=2)], direction=1, bidirectional=True,
               task="adding")
    assert "keeps on average 75% of a gradient" in instruments.carry_path(back)


def test_carry_path_gru_reads_the_update_gate_and_small_shares_as_fractions():
    z = np.full((P, L, H), 0.5)
    note = instruments.carry_path(run([record(0, cell="gru", gates={"z": z})], cell="gru"))
    assert note.startswith("Update gates z_t average 0.50 on the probe sequences; along the update path")
    assert "keeps on average 2e-6 (as a fraction) of a gradient across the 19 steps" in note  # 0.5^19 = 1.9e-6


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_carry_path_is_silent_for_a_plain_rnn(cell):
    assert instruments.carry_path(run([record(0, cell=cell)], cell=cell)) is None


# ---------------------------------------------------------------------------------------------- saturation


def test_saturated_units_counts_units_above_099_on_every_timestep():
    h = np.zeros((P, L, H))
    h[:, :, :3] = 0.995
    h[:, :, 3] = -0.999
    h[0, 7, 4] = 0.5  # unit 5 saturated everywhere but once: not counted
    h[:, :, 4] = np.where(h[:, :, 4] == 0.5, 0.5, 0.999)
    note = instruments.saturated_units(run([record(0, cell="rnn_tanh", hidden=h)], cell="rnn_tanh"))
    assert note == ("4 of the 6 units are saturated (|h| > 0.99) on every timestep of all 2 probe sequences "
                    "(training step 0).")


def test_saturated_units_relu_counts_units_that_are_off_throughout():
    h = np.ones((P, L, H))
    h[:, :, 2] = 0.0
    note = instruments.saturated_units(run([record(0, cell="rnn_relu", hidden=h)], cell="rnn_relu"))
    assert note == "1 of the 6 units is 0 (the ReLU is off) on every timestep of all 2 probe sequences " \
                   "(training step 0)."


def test_saturated_units_is_silent_when_no_unit_is_saturated_throughout():
    h = np.full((P, L, H), 0.995)
    h[1, 3, :] = 0.9  # every unit drops below once
    assert instruments.saturated_units(run([record(0, cell="gru", hidden=h)], cell="gru")) is None
    assert instruments.saturated_units(run([record(0, cell="rnn_relu", hidden=np.full((P, L, H), 0.1))],
                                           cell="rnn_relu")) is None


# ------------------------------------------------------------------------------------------------- baseline


def test_at_baseline_all_along_says_nothing_is_beaten_yet():
    recs = [record(s, loss=1 / 6 * (1.01 if s % 2 else 0.97)) for s in range(400)]
    note = instruments.at_baseline(run(recs, baseline=1 / 6))
    assert note == ("The loss has been at the baseline 0.167 or above for all 400 steps so far (within 5%): the "
                    "network does no better than the baseline predictor yet.")


def test_at_baseline_after_having_been_lower_names_the_step_it_came_back():
    recs = [record(s, loss=0.1 if s < 100 else 0.2) for s in range(300)]
    note = instruments.at_baseline(run(recs, baseline=0.2))
    assert note == ("The loss has been back at the baseline 0.2 or above (within 5%) for the last 200 steps, since "
                    "step 100, after it had been lower.")


@pytest.mark.parametrize("losses, baseline", [
    ([0.2] * 49, 0.2),  # too short a stretch
    ([0.2] * 100 + [0.18], 0.2),  # the newest loss is below the band
    ([0.2] * 100, None),  # no baseline known
    ([0.2] * 60 + [float("nan")], 0.2),  # diverged: nan is not at the baseline
])
def test_at_baseline_is_silent(losses, baseline):
    assert instruments.at_baseline(run([record(s, loss=v) for s, v in enumerate(losses)], baseline=baseline)) \
        is None


# ------------------------------------------------------------------------------------------------- spectrum


def test_spectrum_names_sigma_max_as_the_step_bound_and_rho_as_the_long_run_rate():
    note = instruments.spectrum(run([record(0, cell="rnn_tanh", sv=1.8, eig=0.9 + 0.3j)], cell="rnn_tanh"))
    rho = abs(np.complex64(0.9 + 0.3j))
    assert note == (f"σ_max(W_hh) = 1.8: one backward step through the recurrence (∂h_t/∂h_(t−1)) multiplies a "
                    f"gradient's norm by at most γσ_max = 1.8 (γ = 1), so it can grow there; the spectral radius "
                    f"ρ(W_hh) = {rho:.3g} is the long-run rate per step of W_hh^n alone (training step 0).")
    small = instruments.spectrum(run([record(0, cell="rnn_relu", sv=0.7)], cell="rnn_relu"))
    assert "at most γσ_max = 0.7 (γ = 1), so it cannot grow there" in small


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_spectrum_is_silent_for_gated_cells(cell):
    assert instruments.spectrum(run([record(0, cell=cell)], cell=cell)) is None


# ----------------------------------------------------------------------------------------------- the table


def test_every_instrument_is_in_one_table_with_known_pages_and_unique_names():
    names = [i.name for i in instruments.INSTRUMENTS]
    assert len(names) == len(set(names))
    assert instruments.PAGES == {"playground", "hidden", "gates", "flow"}


def test_notes_runs_the_pages_rows_in_table_order_and_follow_the_run():
    g = np.logspace(-10, 0, L)
    recs = [record(s, loss=1.0, clipped=True, grad=g) for s in range(60)]
    r = run(recs, baseline=1.0, clip="norm")
    assert [n.split(" ")[1] for n in instruments.notes("playground", r)] == ["loss", "fired", "gradient"]
    r.history.append(record(60, loss=0.1, grad=np.ones(L)))  # the run moves on: learned, no clipping, flows
    later = instruments.notes("playground", Run(r.history, r.config, 1.0))
    assert later == [instruments.clipping(Run(r.history, r.config))]
    assert "99% of the last 61 steps" not in later[0] and "of the last 61 steps" in later[0]
    assert instruments.notes("nowhere", r) == []


def test_the_layer_shown_is_named_when_there_are_several():
    recs = [record(0, grad=np.logspace(-10, 0, L), layers=2)]
    note = instruments.gradient_depth(run(recs, layer=1, num_layers=2))
    assert note.endswith("(training step 0, layer 2).")
