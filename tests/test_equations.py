"""The cell opened up (rnnviz/equations.py): every number equals the trace's and torch.nn's."""

import math

import numpy as np
import pytest
import torch

from rnnviz import cells, equations
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError

TOL = 1e-12


def _module(cell: str, *, layers: int = 1, bidirectional: bool = False, seed: int = 0):
    c = cells.get(cell)
    torch.manual_seed(seed)
    return getattr(torch.nn, c.torch_class)(3, 5, num_layers=layers, bidirectional=bidirectional,
                                            batch_first=True, **c.torch_kwargs)


def _x(seed: int = 1, n: int = 2, length: int = 7):
    return torch.randn(n, length, 3, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_every_recomputed_number_equals_the_trace_at_every_step_unit_layer_and_direction(cell):
    m, x = _module(cell, layers=2, bidirectional=True), _x()
    traced = equations.forward_trace(m, x)
    tr = traced[0]
    assert tr.hidden.dtype == np.float64
    worst = 0.0
    for layer in range(2):
        for d in range(2):
            for t in range(7):
                for u in range(5):
                    s = equations.open_cell(m, x, t=t, unit=u, layer=layer, direction=d, sample=1, traced=traced)
                    worst = max(worst, s.mismatch)
                    assert s.traced_h == tr.hidden[layer, d, 1, t, u]
                    for name, b in s.blocks.items():
                        recorded = tr.gates[name] if tr.gates else tr.hidden
                        assert b.traced == recorded[layer, d, 1, t, u]
                        assert abs(b.value - b.traced) <= TOL
    assert worst <= TOL


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_h_and_c_equal_torch_nn_stepped_one_timestep_at_a_time(cell):
    """torch.nn itself, fed x_t and the state of the step before, gives h_t (and c_t) of every unit."""
    m, x = _module(cell, seed=3), _x(seed=4)
    m64, x64 = m.double(), x.double()
    traced = equations.forward_trace(m64, x64)
    state = None
    for t in range(x.shape[1]):
        with torch.no_grad():
            out, state = m64(x64[:, t:t + 1], state)
        h = state[0] if cell == "lstm" else state
        for u in range(5):
            s = equations.open_cell(m64, x64, t=t, unit=u, sample=0, traced=traced)
            assert abs(s.h - float(h[0, 0, u])) <= TOL
            assert abs(s.h - float(out[0, 0, u])) <= TOL
            if cell == "lstm":
                assert abs(s.c - float(state[1][0, 0, u])) <= TOL
            else:
                assert s.c is None and s.c_prev is None


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_the_parts_of_each_pre_activation_are_the_weights_times_the_inputs(cell):
    m, x = _module(cell, seed=5), _x(seed=6)
    s = equations.open_cell(m, x, t=4, unit=2, top=5)  # every term kept
    c = cells.get(cell)
    w_ih, w_hh = m.weight_ih_l0.detach().double().numpy(), m.weight_hh_l0.detach().double().numpy()
    b_ih, b_hh = m.bias_ih_l0.detach().double().numpy(), m.bias_hh_l0.detach().double().numpy()
    assert list(s.blocks) == list(c.blocks)
    np.testing.assert_allclose(s.x, x.double().numpy()[0, 4], rtol=0, atol=0)
    for k, (name, b) in enumerate(s.blocks.items()):
        row = k * 5 + 2
        assert b.input_part == pytest.approx(float(w_ih[row] @ s.x), abs=TOL)
        assert b.hidden_part == pytest.approx(float(w_hh[row] @ s.h_prev), abs=TOL)
        assert (b.bias_i, b.bias_h) == (b_ih[row], b_hh[row])
        assert sum(term.product for term in b.hidden_terms) == pytest.approx(b.hidden_part, abs=TOL)
        assert sum(term.product for term in b.input_terms) == pytest.approx(b.input_part, abs=TOL)
        sizes = [abs(term.product) for term in b.hidden_terms]
        assert sizes == sorted(sizes, reverse=True)
        assert b.squash == (c.nonlinearity if not c.gates else "tanh" if name in c.tanh_gates else "sigmoid")


def test_top_terms_keeps_the_largest_products_only():
    m, x = _module("lstm", seed=7), _x(seed=8)
    s = equations.open_cell(m, x, t=5, unit=0, top=2)
    w_hh = m.weight_hh_l0.detach().double().numpy()
    for k, b in enumerate(s.blocks.values()):
        prod = w_hh[k * 5] * s.h_prev
        assert [term.index for term in b.hidden_terms] == list(np.argsort(-np.abs(prod))[:2])


def test_the_first_step_starts_from_zero_state_in_both_directions():
    m, x = _module("lstm", bidirectional=True), _x()
    fwd = equations.open_cell(m, x, t=0, unit=1)
    back = equations.open_cell(m, x, t=6, unit=1, direction=1)
    assert fwd.first and back.first and not equations.open_cell(m, x, t=1, unit=1).first
    for s in (fwd, back):
        assert not s.h_prev.any() and s.c_prev == 0.0
        assert all(b.hidden_part == 0.0 and b.hidden_terms == () for b in s.blocks.values())


def test_the_apps_model_float32_record_agrees_with_the_float64_view_to_float16_precision():
    """The UI opens the cell of the trainer's float32 model in float64; the heatmap shows the float16 record."""
    from rnnviz.trainer import Trainer

    tr = Trainer(ExperimentConfig(cell="gru", hidden_size=8, seq_len=12, batch_size=4, probe_size=2))
    tr.step(1)
    rec = tr.history.record_at(0, full=True)
    tr.reset()  # back to the weights step 0 was recorded with
    x = tr.probe.x
    s = equations.open_cell(tr.model.rnn, x, t=11, unit=3, sample=1)
    assert s.mismatch <= TOL
    assert abs(s.h - float(rec.hidden[0, 0, 1, 11, 3])) <= 2e-3  # float16 keeps ~3 digits
    assert tr.model.rnn.weight_hh_l0.dtype == torch.float32  # the module itself is untouched


@pytest.mark.parametrize("kwargs, message", [
    (dict(t=7, unit=0), "t must be an integer in 0..6, got 7"),
    (dict(t=-1, unit=0), "t must be an integer in 0..6, got -1"),
    (dict(t=0, unit=5), "unit must be an integer in 0..4, got 5"),
    (dict(t=0, unit=0, layer=1), "layer must be an integer in 0..0, got 1"),
    (dict(t=0, unit=0, direction=1), "direction must be an integer in 0..0, got 1"),
    (dict(t=0, unit=0, sample=2), "sample must be an integer in 0..1, got 2"),
    (dict(t=1.5, unit=0), "t must be an integer in 0..6, got 1.5"),
])
def test_bad_indices_are_refused_with_the_range(kwargs, message):
    with pytest.raises(RnnvizError) as err:
        equations.open_cell(_module("rnn_tanh"), _x(), **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_latex_lines_carry_the_numbers_of_the_step(cell):
    m, x = _module(cell, seed=2), _x(seed=9)
    s = equations.open_cell(m, x, t=3, unit=4)
    lines = equations.latex_lines(s)
    c = cells.get(cell)
    assert len(lines) == len(c.blocks) + {"lstm": 2, "gru": 1}.get(cell, 0)
    for line, (name, b) in zip(lines, s.blocks.items(), strict=False):
        assert line.startswith(f"{name}_{{4}}[5] = ")
        assert line.endswith(f"= {equations.num(b.value)}")
        assert f"({equations.num(b.pre)})" in line
        assert "h_{3}" in line and "x_{4}" in line
    assert lines[-1].endswith(f"= {equations.num(s.h)}")
    if cell == "lstm":
        assert lines[-2].endswith(f"= {equations.num(s.c)}")


def test_reverse_direction_names_the_later_state():
    s = equations.open_cell(_module("gru", bidirectional=True), _x(), t=2, unit=0, direction=1)
    assert all("h_{4}" in line for line in equations.latex_lines(s))


@pytest.mark.parametrize("v, text", [(0.5, "0.5"), (-0.012345678, "-0.01235"), (1.5e-7, r"1.5\times 10^{-7}"),
                                     (math.inf, r"\infty"), (math.nan, r"\mathrm{nan}")])
def test_num(v, text):
    assert equations.num(v) == text


def test_terms_table_rows_and_shares():
    s = equations.open_cell(_module("rnn_tanh"), _x(), t=3, unit=1, top=5)
    rows = equations.terms_table(s)
    assert len(rows) == 5 and {r["block"] for r in rows} == {"h"}
    b = s.blocks["h"]
    assert rows[0]["product"] == equations.num(b.hidden_terms[0].product, 3)
    assert rows[0]["of the sum"] == f"{b.hidden_terms[0].product / b.hidden_part:.0%}"
