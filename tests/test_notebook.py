"""rnnviz in a notebook (issue 15, part 2): the figure builders take what `trace` and the Trainer return, a Trace
and a RunHistory show themselves as offline HTML, notebook.train steps a Trainer with a progress bar, and
examples/vanishing_in_a_notebook.ipynb runs in a real Jupyter kernel (nbclient + ipykernel, dev dependencies)
whose printed numbers match an independent BPTT unrolled by hand here."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import plotly.graph_objects as go
import plotly.offline
import pytest
import torch
from nbclient import NotebookClient
from torch import nn

from rnnviz import analysis, notebook, plots, trace
from rnnviz.config import PRESETS
from rnnviz.errors import RnnvizError
from rnnviz.trainer import Trainer, limit_threads

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "vanishing_in_a_notebook.ipynb"
PLOTLYJS = plotly.offline.get_plotlyjs()
P = "<p style=\"font-family:sans-serif\">"  # a summary line of notebook.figures_html


@pytest.fixture(autouse=True)
def one_thread_and_inline():
    previous = limit_threads(1)
    notebook.use_plotlyjs("inline")
    yield
    notebook.use_plotlyjs("inline")
    limit_threads(previous)


def _trace(cell: str, loss: bool = True, layers: int = 1):
    torch.manual_seed(0)
    module = {"rnn_tanh": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](3, 8, num_layers=layers, batch_first=True)
    x = torch.randn(4, 12, 3)
    return trace(module, x, (lambda out, state: out[:, -1].pow(2).sum()) if loss else None)


def _same(a, b) -> None:
    assert a.to_json() == b.to_json()


def _offline(html: str) -> str:
    """The HTML without the plotly.js bundle; it must load and link nothing from outside."""
    rest = html.replace(PLOTLYJS, "")
    assert not re.search(r"https?://|(src|href)=", rest), re.search(r".{80}(https?://|(src|href)=).{80}", rest)
    return rest


# ------------------------------------------------------------------------------------------ builders
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_every_one_pass_builder_takes_the_trace_itself(cell):
    tr = _trace(cell, layers=2)
    _same(plots.gradient_flow(tr), plots.gradient_flow(tr.grad_norms))
    _same(plots.param_grad_bars(tr), plots.param_grad_bars({k: v[0, 0] for k, v in tr.param_grad_norms.items()}))
    _same(plots.hidden_heatmap(tr), plots.hidden_heatmap(tr.hidden[0, 0, 0]))
    assert len(plots.gradient_flow(tr).data) == 2  # both layers
    if cell == "lstm":
        _same(plots.cell_vs_hidden_flow(tr), plots.cell_vs_hidden_flow(tr.grad_norms[0, 0], tr.grad_cell_norms[0, 0]))
    if cell != "rnn_tanh":
        _same(plots.gate_heatmaps(tr), plots.gate_heatmaps({g: v[0, 0, 0] for g, v in tr.gates.items()}, cell))


def test_history_builders_take_the_run_history():
    t = Trainer(PRESETS["clipping-tames"].config.replace(record_every=10))
    t.step(30)
    h, s = t.history, t.history.scalars
    _same(plots.loss_curve(h, baseline=0.5), plots.loss_curve(s["step"], s["loss"], s["metric"], baseline=0.5))
    _same(plots.grad_norm_curve(h), plots.grad_norm_curve(s["step"], s["grad_norm"], s["grad_norm_clipped"],
                                                          s["clipped"], threshold=1.0))
    _same(plots.gradient_flow_heatmap(h), plots.gradient_flow_heatmap(h.recorded_steps(), h.grad_norm_matrix()))
    assert list(h.recorded_steps()) == [0, 10, 20]


def test_a_diverged_history_marks_its_divergence_and_an_unclipped_one_has_no_clipping_curve():
    t = Trainer(PRESETS["exploding"].config)
    t.step(40)
    step = t.history.status["diverged_step"]
    assert t.state == "diverged" and 16 <= step <= 20
    assert f"diverged at step {step}" in [d.name for d in plots.loss_curve(t.history).data]
    assert [d.name for d in plots.grad_norm_curve(t.history).data] == ["||g|| before clipping"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: plots.gradient_flow(_trace("lstm", loss=False)),
     "gradient_flow needs a trace with gradients (trace(module, x, loss_fn) with a loss_fn), got one recorded with "
     "loss_fn=None"),
    (lambda: plots.cell_vs_hidden_flow(_trace("gru")),
     "cell_vs_hidden_flow needs an LSTM trace (the cell state c_t), got a GRU trace"),
    (lambda: plots.gate_heatmaps(_trace("rnn_tanh")),
     "gate_heatmaps needs a gated cell (LSTM or GRU), got a tanh RNN trace"),
    (lambda: plots.gate_heatmaps({"f": np.zeros((3, 2))}),
     "gate_heatmaps needs the cell type (cell='lstm' or 'gru') with a dict of gates, got cell=None"),
    (lambda: plots.loss_curve(np.arange(3)),
     "loss_curve needs (steps, loss) or a RunHistory, got one array and no loss"),
    (lambda: plots.gradient_flow_heatmap(np.arange(3)),
     "gradient_flow_heatmap needs (steps, grad_norms) or a RunHistory, got one array and no grad_norms"),
    (lambda: notebook.use_plotlyjs("cdn"), "plotly.js mode must be one of inline, once, got 'cdn'"),
    (lambda: notebook.train(None, -1), "steps must be an integer >= 0, got -1"),
    (lambda: notebook.train(None, 5, progress="bar"), "progress must be one of auto, text, none, got 'bar'"),
])
def test_wrong_input_names_the_rule_and_the_value(call, message):
    with pytest.raises(RnnvizError) as e:
        call()
    assert str(e.value) == message


def test_the_documented_one_liners_draw():
    """Every line of docs/NOTEBOOK.md's code block runs, and each expression line is a figure."""
    text = (ROOT / "docs" / "NOTEBOOK.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, re.S)
    torch.manual_seed(0)
    module, x = nn.LSTM(2, 16, batch_first=True), torch.randn(3, 20, 2)
    tr = trace(module, x, lambda out, state: out[:, -1].pow(2).sum())
    t = Trainer(PRESETS["lstm-remembers"].config.replace(record_every=5))
    t.step(12)
    ns = dict(tr=tr, module=module, x=x, h=t.history, np=np)
    drawn = 0
    for line in filter(None, (line.split("  #")[0].strip() for line in block.splitlines())):
        if line.startswith(("from ", "import ")) or re.match(r"^\w+ = ", line):
            exec(line, ns)  # noqa: S102 - the repository's own documentation
        else:
            assert isinstance(eval(line, ns), go.Figure), line  # noqa: S307
            drawn += 1
    assert drawn == 15


# ------------------------------------------------------------------------------------------ _repr_html_
def test_a_trace_shows_its_gradient_flow_cell_path_and_gates_offline():
    tr = _trace("lstm")
    html = tr._repr_html_()
    assert html.count(PLOTLYJS) == 1 and html.count("class=\"plotly-graph-div\"") == 3
    rest = _offline(html)
    ratio = analysis.format_ratio(analysis.gradient_ratio(tr.grad_norms[0, 0]))
    assert (f"{P}loss {tr.loss:.4g}; ||dL/dh_1|| / ||dL/dh_T|| = {ratio} (layer 1, forward direction)</p>"
            in rest)
    assert f"{P}LSTM trace: 1 layer(s) x 1 direction(s), batch 4, length 12, hidden size 8</p>" in rest
    for title in ("Gradient flowing back through time", "LSTM: gradient through the cell state",
                  "LSTM gates at every timestep"):
        assert title in rest
    forward_only = _offline(_trace("rnn_tanh", loss=False)._repr_html_())
    assert "forward only (no loss_fn): no gradients recorded" in forward_only
    assert forward_only.count("class=\"plotly-graph-div\"") == 1 and "Hidden state h_t" in forward_only


def test_a_relu_trace_colours_its_unbounded_state_from_the_data():
    torch.manual_seed(0)
    tr = trace(nn.RNN(3, 8, nonlinearity="relu", batch_first=True), 5 * torch.randn(4, 12, 3), None)
    (fig,) = notebook.trace_figures(tr)
    limit = float(np.abs(tr.hidden[0, 0, 0]).max())
    assert limit > 1 and (fig.data[0].zmin, fig.data[0].zmax) == pytest.approx((-limit, limit))


def test_a_run_history_shows_its_loss_and_gradient_flow_offline():
    t = Trainer(PRESETS["lstm-remembers"].config.replace(record_every=10))
    assert "0 step(s) trained, 0 recorded; state ready" in t.history._repr_html_()
    t.step(30)
    html = t.history._repr_html_()
    assert html.count(PLOTLYJS) == 1 and html.count("class=\"plotly-graph-div\"") == 2
    rest = _offline(html)
    loss = float(t.history.scalars["loss"][-1])
    assert f"{P}30 step(s) trained, 3 recorded; state paused; loss at step 29: {loss:.4g}</p>" in rest
    assert "chance baseline (0.167)" in rest and "Gradient flow over training" in rest


def test_once_mode_carries_plotlyjs_in_the_first_output_only():
    tr = _trace("gru")
    notebook.use_plotlyjs("once")
    first, second = tr._repr_html_(), tr._repr_html_()
    assert first.count(PLOTLYJS) == 1 and PLOTLYJS not in second
    _offline(second)
    notebook.use_plotlyjs("once")  # choosing again starts over
    assert tr._repr_html_().count(PLOTLYJS) == 1
    shown = notebook.show(plots.gradient_flow(tr), lines=["a <b>"])._repr_html_()
    assert PLOTLYJS not in shown and f"{P}a &lt;b&gt;</p>" in shown


# ------------------------------------------------------------------------------------------ training
def test_train_is_trainer_step_with_a_text_bar():
    config = PRESETS["gru-remembers"].config.replace(record_every=5)
    t, plain, out = Trainer(config), Trainer(config), io.StringIO()
    records = notebook.train(t, 50, progress="text", file=out)
    plain.step(50)
    assert len(records) == 50 and t.step_count == 50
    assert np.array_equal(t.history.scalars["loss"], plain.history.scalars["loss"])
    assert np.array_equal(t.history.recorded_steps(), plain.history.recorded_steps())
    frames = out.getvalue().split("\r")
    assert len(frames) == 1 + 50  # one redraw per chunk of 1% (50 steps: one step each)
    assert frames[-1] == f"[{'#' * 30}] 50/50 steps, loss {records[-1].loss:.4g}\n"
    assert frames[25].startswith(f"[{'#' * 15}{'.' * 15}] 25/50 steps, loss ")
    assert notebook.train(t, 0, progress="none") == []


def test_train_stops_where_the_run_stops_and_says_why():
    t, out = Trainer(PRESETS["exploding"].config), io.StringIO()
    records = notebook.train(t, 100, progress="text", file=out)
    assert t.state == "diverged" and len(records) == t.step_count < 100
    assert t.stop_reason == t.diverged_reason != ""
    assert out.getvalue().endswith(f"\nstopped: {t.stop_reason}\n")


def test_train_uses_tqdm_when_installed_and_text_otherwise(monkeypatch, capsys):
    bars = []

    class FakeTqdm:
        def __init__(self, total, unit):
            self.total, self.unit, self.n, self.postfix, self.closed = total, unit, 0, None, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def set_postfix(self, refresh, **kw):
            self.postfix = kw

        def set_description(self, text):
            self.description = text

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeTqdm))
    t = Trainer(PRESETS["gru-remembers"].config)
    records = notebook.train(t, 20)
    (bar,) = bars
    assert (bar.total, bar.unit, bar.n, bar.closed) == (20, "step", 20, True)
    assert bar.postfix == {"loss": f"{records[-1].loss:.4g}"}
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # not installed: import fails
    notebook.train(t, 10)
    assert capsys.readouterr().out.endswith(f"] 10/10 steps, loss {t.history.scalars['loss'][-1]:.4g}\n")


# ------------------------------------------------------------------------------------------ the notebook
@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The example notebook run top to bottom in a fresh kernel: this venv's Python, registered in a temp
    Jupyter path (nothing written to the home directory), one torch thread."""
    tmp = tmp_path_factory.mktemp("jupyter")
    kernel = tmp / "data" / "kernels" / "rnnviz-test"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rnnviz test", "language": "python"}))
    env = dict(JUPYTER_PATH=tmp / "data", JUPYTER_DATA_DIR=tmp / "data", JUPYTER_RUNTIME_DIR=tmp / "runtime",
               JUPYTER_CONFIG_DIR=tmp / "config", IPYTHONDIR=tmp / "ipython", PYTHONPATH=ROOT, OMP_NUM_THREADS=1,
               JUPYTER_PLATFORM_DIRS=1)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, str(value))
        NotebookClient(nb, kernel_name="rnnviz-test", timeout=600,
                       resources={"metadata": {"path": str(tmp)}}).execute()
    return nb


def _outputs(nb, source_start: str) -> list:
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    return cell.outputs


def _stdout(nb, source_start: str) -> str:
    return "".join(o.text for o in _outputs(nb, source_start) if o.output_type == "stream" and o.name == "stdout")


def _html(nb, source_start: str) -> str:
    (out,) = [o for o in _outputs(nb, source_start) if "text/html" in o.get("data", {})]
    return out.data["text/html"]


def _notebook_setup() -> dict:
    """The notebook's own model and data cells, run here: the same modules and inputs, a different process."""
    ns: dict = {}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in [c for c in nb.cells if c.cell_type == "code"][:2]:
        exec(cell.source, ns)  # noqa: S102 - the repository's own notebook
    return ns


def unrolled_ratio(module, head, x, target) -> float:
    """||dL/dh_1|| / ||dL/dh_T|| from the cell equations unrolled by hand in float64 (PyTorch's gate order
    i, f, g, o; h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) for the RNN), each h_t's total gradient by
    autograd; the norm is over the batch and the units."""
    p = {n: v.detach().double().requires_grad_() for n, v in module.named_parameters()}
    w_head, b_head = head.weight.detach().double(), head.bias.detach().double()
    xd = x.double()
    N, T, _ = xd.shape
    h = torch.zeros(N, module.hidden_size, dtype=torch.float64)
    c = torch.zeros_like(h)
    hs = []
    for t in range(T):
        z = xd[:, t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        if isinstance(module, nn.LSTM):
            i, f, g, o = z.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            h = torch.tanh(z)
        h.retain_grad()
        hs.append(h)
    loss = (((h @ w_head.T + b_head).squeeze(-1) - target.double()) ** 2).mean()
    loss.backward()
    return float(hs[0].grad.norm() / hs[-1].grad.norm())


def _printed_ratios(text: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^(.+?): loss \S+, gradient ratio \|\|dL/dh_1\|\| / "
                                                   r"\|\|dL/dh_T\|\| = (\S+)$", text, re.M)}


def test_the_notebook_prints_the_gradient_ratios_of_an_independent_bptt(executed):
    printed = _printed_ratios(_stdout(executed, "tr_lstm = trace("))
    printed.update(_printed_ratios(_stdout(executed, "with torch.no_grad():")))
    assert set(printed) == {"LSTM", "tanh RNN", "LSTM, forget-gate bias 3"}
    ns = _notebook_setup()
    x, target, H = ns["x"], ns["target"], ns["H"]
    assert printed["LSTM"] == pytest.approx(unrolled_ratio(ns["lstm"], ns["lstm_head"], x, target), rel=1e-3)
    assert printed["tanh RNN"] == pytest.approx(unrolled_ratio(ns["rnn"], ns["rnn_head"], x, target), rel=1e-3)
    with torch.no_grad():
        ns["lstm"].bias_ih_l0[H:2 * H] = 3.0
        ns["lstm"].bias_hh_l0[H:2 * H] = 0.0
    opened = unrolled_ratio(ns["lstm"], ns["lstm_head"], x, target)
    assert printed["LSTM, forget-gate bias 3"] == pytest.approx(opened, rel=1e-3)
    # what the notebook's text says: both vanish at the default init; open forget gates keep the gradient
    assert printed["LSTM"] < 1e-15 and printed["tanh RNN"] < 1e-15 and opened > 1e-2


def test_the_notebook_draws_offline_figures_and_trains_with_a_bar(executed):
    shown = _offline(_html(executed, "tr_open"))
    assert shown.count("class=\"plotly-graph-div\"") == 3 and "LSTM gates at every timestep" in shown
    flow = _offline(_html(executed, "notebook.show(plots.gradient_flow("))
    assert "\"name\":\"LSTM, forget-gate bias 3\"" in flow and "\"name\":\"tanh RNN\"" in flow
    assert _offline(_html(executed, "notebook.show(plots.gate_heatmaps(")).count("class=\"plotly-graph-div\"") == 2
    text = _stdout(executed, "from rnnviz.config import PRESETS")
    t = Trainer(PRESETS["lstm-remembers"].config.replace(record_every=10))
    t.step(200)
    last = float(t.history.scalars["loss"][-1])
    if importlib.util.find_spec("tqdm") is None:  # the text bar (with tqdm installed, tqdm draws it)
        assert f"] 200/200 steps, loss {last:.4g}\n" in text
    assert text.endswith(f"trained 200 steps, last loss {last:.6g}\n")
    history = _offline(_html(executed, "trainer.history"))
    assert f"{P}200 step(s) trained, 20 recorded; state paused; loss at step 199: {last:.4g}</p>" in history
