"""rnnviz in a Jupyter notebook: a Trace or a RunHistory shows itself as figures, and a Trainer trains in a
cell with a progress bar. No streamlit, no network.

    from rnnviz import notebook, plots, trace
    tr = trace(my_lstm, x, loss_fn)      # your own nn.RNN / nn.LSTM / nn.GRU
    tr                                   # last line of a cell: gradient flow and gates (Trace._repr_html_)
    notebook.show(plots.gradient_flow(tr))   # every builder that draws one pass takes the trace itself

    trainer = Trainer(ExperimentConfig(...))
    notebook.train(trainer, 500)         # a progress bar: tqdm's when tqdm is installed, else one line of text
    trainer.history                      # loss and gradient flow over training (RunHistory._repr_html_)

plotly.js travels inside the HTML (``plotly.offline.get_plotlyjs()``, the copy the plotly package ships), so a
notebook works offline and its saved outputs fetch nothing. :func:`use_plotlyjs` picks how often:
``"inline"`` (default) puts it in every output, which works wherever outputs are shown (JupyterLab, VS Code,
outputs in separate frames, a reopened notebook), about 4.6 MB each; ``"once"`` only in the first output of
this kernel, for lighter notebooks where all outputs share one page (then keep that output).
"""

from __future__ import annotations

import html
import sys

from rnnviz.errors import RnnvizError

__all__ = ["use_plotlyjs", "figures_html", "Figures", "show", "trace_figures", "trace_summary", "trace_html",
           "history_figures", "history_summary", "history_html", "train", "PLOTLYJS_MODES"]

PLOTLYJS_MODES = ("inline", "once")
_plotlyjs = {"mode": "inline", "embedded": False}


def use_plotlyjs(mode: str) -> None:
    """``"inline"``: plotly.js in every output; ``"once"``: only in the first output of this kernel."""
    if mode not in PLOTLYJS_MODES:
        raise RnnvizError(f"plotly.js mode must be one of {', '.join(PLOTLYJS_MODES)}, got {mode!r}")
    _plotlyjs.update(mode=mode, embedded=False)


def figures_html(figures, lines=()) -> str:
    """One HTML block: ``lines`` (text, escaped) above the figures; plotly.js inside it at most once."""
    parts = [f"<p style=\"font-family:sans-serif\">{html.escape(line)}</p>" for line in lines]
    for k, fig in enumerate(figures):
        embed = k == 0 if _plotlyjs["mode"] == "inline" else not _plotlyjs["embedded"]
        parts.append(fig.to_html(include_plotlyjs=embed, full_html=False))
        _plotlyjs["embedded"] |= embed
    return "<div class=\"rnnviz\">" + "".join(parts) + "</div>"


class Figures:
    """Figures shown together in Jupyter, as :func:`figures_html` writes them (offline, see :func:`use_plotlyjs`)."""

    def __init__(self, figures, lines=()):
        self.figures, self.lines = list(figures), list(lines)

    def _repr_html_(self) -> str:
        return figures_html(self.figures, self.lines)


def show(*figures, lines=()) -> Figures:
    """``notebook.show(plots.gate_heatmaps(tr))`` as a cell's last line: the figures with plotly.js inside."""
    return Figures(figures, lines)


# ------------------------------------------------------------------------------------------ a trace
def trace_figures(tr) -> list:
    """The gradient flow (every layer and direction; when the trace has gradients), for an LSTM the cell
    path against the hidden path, and the gates of sequence 1 (the hidden state for a plain RNN)."""
    from rnnviz import cells, plots

    figs = []
    if tr.grad_norms is not None:
        figs.append(plots.gradient_flow(tr))
        if tr.grad_cell_norms is not None:
            figs.append(plots.cell_vs_hidden_flow(tr))
    if tr.gates:
        figs.append(plots.gate_heatmaps(tr))
    else:  # a relu RNN's state is unbounded: its colour range comes from the data
        figs.append(plots.hidden_heatmap(tr, bounded=cells.get(tr.cell_type).nonlinearity == "tanh"))
    return figs


def trace_summary(tr) -> list[str]:
    """What was traced, in words, with the loss and the gradient ratio ||dL/dh_1|| / ||dL/dh_T||."""
    from rnnviz import analysis, cells

    label = cells.get(tr.cell_type).label
    lines = [f"{label} trace: {tr.num_layers} layer(s) x {tr.num_directions} direction(s), batch "
             f"{tr.batch_size}, length {tr.seq_len}, hidden size {tr.hidden_size}"]
    if tr.loss is None:
        lines.append("forward only (no loss_fn): no gradients recorded")
        return lines
    ratio = analysis.gradient_ratio(tr.grad_norms[0, 0])
    lines.append(f"loss {tr.loss:.4g}; ||dL/dh_1|| / ||dL/dh_T|| = {analysis.format_ratio(ratio)} "
                 f"(layer 1, forward direction)" + ("" if tr.finite else "; some values are inf or nan"))
    return lines


def trace_html(tr) -> str:
    """``Trace._repr_html_``: :func:`trace_summary` above :func:`trace_figures`."""
    return figures_html(trace_figures(tr), trace_summary(tr))


# ------------------------------------------------------------------------------------------ a run
def _task_words(history) -> dict:
    """The task's chance loss and metric name, as the lecture pack finds them (no baseline for a user's text
    or table)."""
    from rnnviz.pack import history_run

    run = history_run(history, "run")
    return dict(baseline=run.baseline, metric_name=run.metric_name)


def history_figures(history) -> list:
    """The loss of every step (with the chance baseline) and, once a step is recorded, the gradient flow
    over training."""
    from rnnviz import plots

    if len(history) == 0:
        return []
    figs = [plots.loss_curve(history, **_task_words(history))]
    if history.grad_norm_matrix().shape[1]:
        figs.append(plots.gradient_flow_heatmap(history))
    return figs


def history_summary(history) -> list[str]:
    """Steps trained and recorded, the run's state (and why it stopped), the last loss."""
    status = history.status
    state = status.get("state", "") + (f" ({status['reason']})" if status.get("reason") else "")
    line = f"{len(history)} step(s) trained, {len(history.recorded_steps())} recorded; state {state}"
    if len(history):
        line += f"; loss at step {int(history.steps[-1])}: {float(history.scalars['loss'][-1]):.4g}"
    return [line]


def history_html(history) -> str:
    """``RunHistory._repr_html_``: :func:`history_summary` above :func:`history_figures`."""
    return figures_html(history_figures(history), history_summary(history))


# ------------------------------------------------------------------------------------------ training
def train(trainer, steps: int, *, progress: str = "auto", file=None) -> list:
    """Train ``steps`` more steps (fewer when the run diverges, finishes or its watchdog pauses it) with a
    progress bar, in chunks of about 1% of ``steps``; returns the StepRecords, as ``Trainer.step`` does.

    ``progress``: ``"auto"`` (tqdm.auto's bar when tqdm is installed, else text), ``"text"`` (one line,
    redrawn with a carriage return, on ``file``, default stdout) or ``"none"``."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise RnnvizError(f"steps must be an integer >= 0, got {steps!r}")
    if progress not in ("auto", "text", "none"):
        raise RnnvizError(f"progress must be one of auto, text, none, got {progress!r}")
    bar = _bar(steps, progress, file or sys.stdout)
    chunk, records = max(1, steps // 100), []
    try:
        while len(records) < steps:
            new = trainer.step(min(chunk, steps - len(records)))
            records += new
            bar.update(len(new), new[-1].loss if new else None)
            if not new or trainer.stop_reason:
                break
    finally:
        bar.close(trainer.stop_reason)
    return records


def _bar(total: int, progress: str, file):
    if progress == "auto":
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _TextBar(total, file)
        return _Tqdm(tqdm(total=total, unit="step"))
    return _TextBar(total, file, enabled=progress == "text")


class _TextBar:
    """``[#####.........] 120/500 steps, loss 0.1234``, redrawn in place with a carriage return."""

    WIDTH = 30

    def __init__(self, total: int, file, enabled: bool = True):
        self.total, self.file, self.enabled, self.done = total, file, enabled, 0

    def update(self, n: int, loss: float | None) -> None:
        self.done += n
        if self.enabled:
            filled = self.WIDTH * self.done // max(self.total, 1)
            self.file.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} steps"
                            + ("" if loss is None else f", loss {loss:.4g}"))
            self.file.flush()

    def close(self, reason: str) -> None:
        if self.enabled:
            self.file.write((f"\nstopped: {reason}" if reason else "") + "\n")
            self.file.flush()


class _Tqdm:
    def __init__(self, bar):
        self.bar = bar

    def update(self, n: int, loss: float | None) -> None:
        if loss is not None:
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        self.bar.update(n)

    def close(self, reason: str) -> None:
        if reason:
            self.bar.set_description(f"stopped: {reason}")
        self.bar.close()
