"""rnnviz.cells: the one table of cell facts, checked against torch.nn itself."""

import re

import pytest
import torch
from torch import nn

from rnnviz import cells
from rnnviz.errors import RnnvizError


def _module(cell: cells.Cell, **kw) -> nn.RNNBase:
    return getattr(nn, cell.torch_class)(input_size=3, hidden_size=5, batch_first=True, **kw, **cell.torch_kwargs)


def test_table_order_and_keys():
    assert list(cells.CELLS) == ["rnn_tanh", "rnn_relu", "lstm", "gru"]
    assert all(name == c.name for name, c in cells.CELLS.items())
    assert [c.label for c in cells.CELLS.values()] == ["tanh RNN", "ReLU RNN", "LSTM", "GRU"]


def test_looks_are_distinct_per_cell():
    rows = list(cells.CELLS.values())
    assert len({c.colour for c in rows}) == len(rows)
    assert len({c.dash for c in rows}) == len(rows)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c.colour) for c in rows)
    assert {c.dash for c in rows} <= {"solid", "dot", "dash", "longdash", "dashdot", "longdashdot"}


@pytest.mark.parametrize("name", list(cells.CELLS))
def test_blocks_match_weight_hh_rows(name):
    cell = cells.get(name)
    rnn = _module(cell)
    assert rnn.weight_hh_l0.shape == (len(cell.blocks) * 5, 5)
    assert cell.blocks == (cell.gates or ("h",))
    assert set(cell.tanh_gates) <= set(cell.gates)
    assert set(cell.gate_labels) == set(cell.gates)


@pytest.mark.parametrize("name", list(cells.CELLS))
def test_cell_of_module_round_trips(name):
    cell = cells.get(name)
    assert cells.cell_of_module(_module(cell)) == name
    assert cells.cell_of_module(_module(cell, num_layers=2, bidirectional=True)) == name


def test_torch_kwargs_make_the_cell():
    assert cells.get("rnn_relu").torch_kwargs == {"nonlinearity": "relu"}
    assert cells.get("lstm").torch_kwargs == {}
    assert _module(cells.get("rnn_relu")).nonlinearity == "relu"


def test_cell_of_module_accepts_subclasses_and_rejects_others():
    class MyLSTM(nn.LSTM):
        pass

    assert cells.cell_of_module(MyLSTM(3, 5)) == "lstm"
    with pytest.raises(RnnvizError, match=r"^module must be torch.nn.RNN, nn.LSTM or nn.GRU, got Linear$"):
        cells.cell_of_module(nn.Linear(3, 5))
    with pytest.raises(RnnvizError, match=r"got RNNCell$"):
        cells.cell_of_module(nn.RNNCell(3, 5))


def test_get_rejects_unknown_names_with_the_list():
    assert cells.get("gru") is cells.CELLS["gru"]
    with pytest.raises(RnnvizError) as e:
        cells.get("transformer")
    assert str(e.value) == "cell must be one of ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'], got 'transformer'"
    with pytest.raises(RnnvizError, match="got None"):
        cells.get(None)


def test_weight_suffix_names_every_torch_parameter():
    rnn = nn.GRU(3, 5, num_layers=3, bidirectional=True)
    names = {n for n, _ in rnn.named_parameters()}
    want = {f"{kind}{cells.weight_suffix(k, d)}"
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for k in range(3) for d in range(2)}
    assert names == want
    assert cells.weight_suffix(0, 0) == "_l0"
    assert cells.weight_suffix(2, 1) == "_l2_reverse"


@pytest.mark.parametrize("name", list(cells.CELLS))
def test_gamma_is_the_largest_slope_of_the_nonlinearity(name):
    cell = cells.get(name)
    x = torch.linspace(-6, 6, 24001, dtype=torch.float64, requires_grad=True)
    phi = {"tanh": torch.tanh, "relu": torch.relu}[cell.nonlinearity]
    (slope,) = torch.autograd.grad(phi(x).sum(), x)
    assert slope.abs().max().item() == pytest.approx(cell.gamma, abs=1e-12)


def test_lstm_gate_order_reproduces_torch():
    torch.manual_seed(0)
    cell = cells.get("lstm")
    lstm = _module(cell).double()
    x = torch.randn(4, 1, 3, dtype=torch.float64)
    pre = x[:, 0] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0  # h0 = c0 = 0
    g = dict(zip(cell.gates, pre.chunk(len(cell.gates), dim=1), strict=True))
    act = {k: torch.tanh(v) if k in cell.tanh_gates else torch.sigmoid(v) for k, v in g.items()}
    c1 = act["i"] * act["g"]
    h1 = act["o"] * torch.tanh(c1)
    out, (h, c) = lstm(x)
    torch.testing.assert_close(h[0], h1)
    torch.testing.assert_close(c[0], c1)


def test_gru_gate_order_reproduces_torch():
    torch.manual_seed(1)
    cell = cells.get("gru")
    gru = _module(cell).double()
    x = torch.randn(4, 1, 3, dtype=torch.float64)
    pre_i = (x[:, 0] @ gru.weight_ih_l0.T + gru.bias_ih_l0).chunk(3, dim=1)
    pre_h = gru.bias_hh_l0.chunk(3)  # h0 = 0: W_hh h0 = 0
    g = {k: (a, b) for k, a, b in zip(cell.gates, pre_i, pre_h, strict=True)}
    r = torch.sigmoid(sum(g["r"]))
    z = torch.sigmoid(sum(g["z"]))
    n = torch.tanh(g["n"][0] + r * g["n"][1])
    out, h = gru(x)
    torch.testing.assert_close(h[0], (1 - z) * n)
    assert cell.tanh_gates == {"n"}


# ------------------------------------------------------------------ every place that must know a cell knows it
def test_every_table_keyed_by_cell_lists_exactly_the_cells_of_cells_py():
    """Adding a row to cells.CELLS fails here until every table that dispatches on the cell has it too
    (docs/ARCHITECTURE.md, "How to add a cell type")."""
    from rnnviz import jacobian, trace_layers
    from rnnviz.config import CELLS, FIELDS

    names = list(cells.CELLS)
    assert list(CELLS) == names
    assert list(FIELDS["cell"].choices) == names
    assert {c: FIELDS["cell"].choice_label(c) for c in names} == {c: cells.get(c).label for c in names}
    assert list(trace_layers.RUNS) == names
    assert list(jacobian.STEP_JACOBIANS) == names


@pytest.mark.parametrize("name", list(cells.CELLS))
def test_every_cell_builds_traces_measures_and_trains(name):
    """End to end per cell: the model builder makes the cell's torch class, trace records its gates,
    the Jacobian has its step function, and a training step records the W_hh blocks of its table row."""
    from rnnviz.analysis import jacobian_norms
    from rnnviz.config import ExperimentConfig
    from rnnviz.trainer import Trainer

    cell = cells.get(name)
    t = Trainer(ExperimentConfig(cell=name, seq_len=6, hidden_size=4, batch_size=2, probe_size=2))
    assert cells.cell_of_module(t.model.rnn) == name and type(t.model.rnn).__name__ == cell.torch_class
    (rec,) = t.step(1)
    assert set(rec.gates) == set(cell.gates)
    assert rec.singular_values.shape == (1, 1, len(cell.blocks), 4)
    assert set(rec.param_grad_norms) == {p + b for p in ("W_i", "W_h", "b_i", "b_h") for b in cell.blocks}
    assert (rec.cell is not None) == (name == "lstm")
    j = jacobian_norms(t.model.rnn, t.probe.x)
    assert j.hidden.shape == (6,) and j.hidden[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("name", list(cells.CELLS))
def test_param_blocks_are_the_blocks_trace_records(name):
    """The run-file check (rnnviz/runfile.py) wants exactly these ``param/<block>`` arrays: trace's names."""
    from rnnviz.trace import trace

    cell = cells.get(name)
    module = getattr(nn, cell.torch_class)(2, 3, batch_first=True, **cell.torch_kwargs)
    tr = trace(module, torch.randn(1, 4, 2), lambda out, h: out.sum())
    assert list(tr.param_grad_norms) == list(cell.param_blocks)
    assert cells.get("lstm").param_blocks[:5] == ("W_ii", "W_if", "W_ig", "W_io", "W_hi")
    assert cells.get("rnn_tanh").param_blocks == ("W_ih", "W_hh", "b_ih", "b_hh")
