"""The data of one pack page: the frames a scrubber walks through and the figures it redraws.

A page is a dict (embedded in the HTML as JSON, read by ``page.js``)::

    {"title": str, "intro": [str], "frames": [{"step": int, "lines": [str], "states": {panel: index}}],
     "panels": [{"id": str, "figure": plotly JSON, "cursor": "x"|"y"|None, "states": [state]}]}

Every figure is built by the app's own builders in :mod:`rnnviz.plots`; a panel keeps the figure of its
last state without the trace arrays (``x``, ``y``, ``z``) that vary between states, and each state carries
its title and those arrays, encoded by :func:`encode` exactly (the narrowest of float16/32/64 that holds
every value bit for bit). ``cursor`` panels are static (loss over training, gradient heatmap over
training) and get a dashed line at the frame's step on that axis. Hidden states and gates are kept for at
most ``MAX_HEAVY`` distinct steps per page.

Frames are at most ``max_frames`` recorded steps, evenly spaced, always the first and the last
(:func:`frame_steps`). Hidden states and gates come from the nearest step at or before the frame's step
whose probe tensors the run kept (``RunHistory.record_at(step, full=True)``); the figure's title names
that step. No text here is a claim the run did not compute.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

from rnnviz import analysis, cells, flow, plots
from rnnviz.compare import gradient_curves, loss_curves, verdicts
from rnnviz.errors import RnnvizError

MAX_FRAMES = 100
#: Distinct steps whose hidden states and gates a run page carries (each a few hundred kB for an LSTM).
MAX_HEAVY = 40
_DTYPES = (("f2", np.float16), ("f4", np.float32), ("f8", np.float64))


def encode(values) -> dict:
    """An array as ``{"dtype": "f2"|"f4"|"f8", "shape": [...], "b64": little-endian bytes}``: the
    narrowest float type whose round trip equals every value (nan stays nan; None reads as nan)."""
    a = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a value too big for float16 just rules it out
        name, narrow = next((n, a.astype(d)) for n, d in _DTYPES
                            if np.array_equal(a.astype(d).astype(np.float64), a, equal_nan=True))
    data = narrow.astype(narrow.dtype.newbyteorder("<")).tobytes()
    return {"dtype": name, "shape": list(a.shape), "b64": base64.b64encode(data).decode("ascii")}


def decode(enc: dict) -> np.ndarray:
    """The inverse of :func:`encode` (float64), for tests and tools."""
    dtype = dict(_DTYPES)[enc["dtype"]]
    raw = np.frombuffer(base64.b64decode(enc["b64"]), dtype=np.dtype(dtype).newbyteorder("<"))
    return raw.astype(np.float64).reshape(enc["shape"])


def frame_steps(recorded, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` of the recorded steps, evenly spaced, first and last always kept."""
    recorded = np.asarray(recorded, dtype=np.int64)
    if recorded.size <= max_frames:
        return recorded
    pick = np.unique(np.linspace(0, recorded.size - 1, max_frames).round().astype(np.int64))
    return recorded[pick]


# ------------------------------------------------------------------------------------------ panels
def _numeric(v):
    """``v`` as float64, or None when it is absent or not numbers (labels such as "x1" stay in the figure)."""
    if v is None:
        return None
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _arrays(fig) -> list[dict]:
    return [{k: _numeric(getattr(t, k, None)) for k in ("x", "y", "z")} for t in fig.data]


def _differs(a, b) -> bool:
    if a is None or b is None:
        return a is not b
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return x.shape != y.shape or not np.array_equal(x, y, equal_nan=True)


def panel(panel_id: str, figures: list, cursor: str | None = None) -> dict:
    """A panel from one figure per state (same builder, same trace layout): the last figure without the
    arrays that vary between states, and each state as its title and those arrays."""
    base = figures[-1]
    per_fig = [_arrays(f) for f in figures]
    varying = sorted({(i, k) for arrays in per_fig for i, (a, ref) in enumerate(zip(arrays, per_fig[-1], strict=True))
                      for k in a if _differs(a[k], ref[k])})
    states = []
    for fig, arrays in zip(figures, per_fig, strict=True):
        state = {"title": fig.layout.title.text, "arrays": [[i, k, encode(arrays[i][k])] for i, k in varying]}
        if fig.layout.annotations != base.layout.annotations:  # e.g. the "not finite" note of one state
            state["annotations"] = [a.to_plotly_json() for a in fig.layout.annotations]
        states.append(state)
    figure = json.loads(fig_json(base))
    for i, k in varying:
        figure["data"][i][k] = None  # every state carries its own
    return {"id": panel_id, "figure": figure, "cursor": cursor, "states": states}


def fig_json(fig) -> str:
    """plotly's own JSON of a figure (NumPy arrays as typed arrays, which plotly.js reads)."""
    return fig.to_json()


def _states(keys: list[int], build) -> tuple[list, dict[int, int]]:
    """One figure per distinct key (in order of first use) and key -> state index."""
    order = list(dict.fromkeys(keys))
    return [build(k) for k in order], {k: i for i, k in enumerate(order)}


# ------------------------------------------------------------------------------------------ one run
def _heavy_steps(full_of: dict, max_heavy: int = MAX_HEAVY) -> dict:
    """Frame step -> the record whose hidden states and gates it shows: at most ``max_heavy`` distinct ones
    (evenly spaced over those the run kept), each frame taking the nearest one at or before its own."""
    kept = sorted({r.step: r for r in full_of.values() if r is not None}.items())
    if len(kept) <= max_heavy:
        return full_of
    chosen = [kept[i] for i in np.unique(np.linspace(0, len(kept) - 1, max_heavy).round().astype(int))]
    out = {}
    for s, r in full_of.items():
        before = [rec for k, rec in chosen if r is not None and k <= r.step]
        out[s] = before[-1] if before else None
    return out


def _hidden_figure(history, rec):
    cfg = history.config
    x = history.probe.get("x")
    title = f"Hidden state h_t of every unit (probe sequence 1, training step {rec.step})"
    bounded = cells.get(cfg.cell).nonlinearity != "relu"
    return plots.hidden_heatmap(rec.hidden[0, 0, 0].astype(np.float32), inputs=None if x is None else x[0],
                                title=title, bounded=bounded)


def _gates_figure(history, rec):
    fig = plots.gate_heatmaps({g: rec.gates[g][0, 0, 0].astype(np.float32) for g in history.gate_names},
                              history.config.cell)
    fig.update_layout(title_text=f"{fig.layout.title.text} (probe sequence 1, training step {rec.step})")
    return fig


def run_page(history, *, title: str, intro: list[str], baseline: float | None, metric_name: str | None = None,
             max_frames: int = MAX_FRAMES, max_heavy: int = MAX_HEAVY) -> dict:
    """The page of one recorded run: loss, gradient flow and its heatmap, hidden states, gates, text."""
    sc, cfg = history.scalars, history.config
    if cfg is None or not len(history.recorded_steps()):
        raise RnnvizError(f"a pack page needs a run with its config and at least one recorded step, got "
                          f"{len(history.recorded_steps())} recorded steps{'' if cfg else ' and no config'}")
    steps = frame_steps(history.recorded_steps(), max_frames)
    if baseline is not None and not math.isfinite(baseline):
        baseline = None
    recs = {int(s): history.record_at(int(s)) for s in steps}
    full_of = {s: history.record_at(s, full=True) for s in recs}
    panels = [panel("loss", [plots.loss_curve(sc["step"], sc["loss"], sc["metric"], metric_name, baseline,
                                              history.status.get("diverged_step"))], cursor="x")]
    flows = [plots.gradient_flow(recs[s].grad_norms, step=s, theory=flow.pascanu_overlay(recs[s], cfg, 0, 0))
             for s in recs]  # the bound only where it bounds (flow.gradient_enters_at_T_only)
    panels.append(panel("flow", flows))
    panels.append(panel("flow_heatmap", [plots.gradient_flow_heatmap(history.recorded_steps(),
                                                                   history.grad_norm_matrix())], cursor="y"))
    full_of = _heavy_steps(full_of, max_heavy)
    with_full = [s for s in recs if full_of[s] is not None]
    full_keys = [full_of[s].step for s in with_full]
    heavy = [("hidden", _hidden_figure)] + ([("gates", _gates_figure)] if history.gate_names else [])
    index_of = {}
    if with_full:
        for name, build in heavy:
            figs, index_of = _states(full_keys, lambda k, b=build: b(history, history.record_at(k, full=True)))
            panels.append(panel(name, figs))
    frames = []
    for n, s in enumerate(recs):
        states = {"loss": 0, "flow": n, "flow_heatmap": 0}
        if full_of[s] is not None:
            states.update({name: index_of[full_of[s].step] for name, _ in heavy})
        frames.append({"step": s, "lines": run_lines(history, recs[s], full_of[s], baseline), "states": states})
    return {"title": title, "intro": intro, "frames": frames, "panels": panels,
            "config": cfg.to_json() if cfg is not None else ""}


def run_lines(history, rec, full, baseline: float | None) -> list[str]:
    """The verdict and instrument lines of one frame, every number read from the run."""
    cfg, step = history.config, rec.step
    cell = cells.get(cfg.cell)
    base = f" (chance baseline {baseline:.3g})" if baseline is not None else ""
    lines = [f"Training step {step}: loss {rec.loss:.4g}{base}."]
    clip = (f", clipped to θ = {cfg.clip_threshold:g} before the update" if rec.clipped else "")
    lines.append(f"Gradient norm ||g|| = {rec.grad_norm:.3g}{clip}.")
    g = rec.grad_norms[0, 0]
    if flow.gradient_enters_at_T_only(cfg, 0, 0):
        lines.append(analysis.vanishing_verdict(cell.label, g)
                     + f" (ratio ||dL/dh_1|| / ||dL/dh_T|| = {analysis.format_ratio(analysis.gradient_ratio(g))}).")
    else:
        lines.append("No vanishing verdict: on this task the loss does not enter at h_T alone, so "
                     "||dL/dh_1|| / ||dL/dh_T|| is no measure of what travels back through time.")
    lines.append(_spectrum_line(rec, cell))
    if full is not None and full.step != step:
        lines.append(f"Hidden states and gates are shown from step {full.step}, the nearest step at or before "
                     f"{step} whose probe tensors are in this pack.")
    diverged = history.status.get("diverged_step")
    if diverged is not None and step >= int(diverged):
        lines.append(f"The run diverged at step {int(diverged)}: {history.status.get('reason', '')}")
    return lines


def _spectrum_line(rec, cell) -> str:
    """sigma_max and spectral radius of layer 1's W_hh at this step, and what each one means."""
    if rec.singular_values is None or rec.eigenvalues is None:
        return "No W_hh spectrum was recorded at this step."
    sigma = float(np.max(rec.singular_values[0, 0]))
    rho = float(np.max(np.abs(rec.eigenvalues[0, 0])))
    if cell.gates:
        return (f"Largest over the W_hh gate blocks: σ_max = {sigma:.3g}, spectral radius ρ = {rho:.3g}. "
                f"No single W_hh carries h_(t−1) → h_t in a {cell.label}, so no per-step bound is stated.")
    return (f"W_hh: σ_max = {sigma:.3g}, so every step's Jacobian ||∂h_t/∂h_(t−1)|| is at most γσ_max = "
            f"{cell.gamma * sigma:.3g} (γ = {cell.gamma:g}, the largest slope of {cell.nonlinearity}); spectral "
            f"radius ρ = {rho:.3g}, the long-run rate.")


# ------------------------------------------------------------------------------------------ lockstep
def lockstep_page(trainers, *, title: str, intro: list[str], baseline: float | None,
                  max_frames: int = MAX_FRAMES) -> dict:
    """RNN, LSTM and GRU (``trainers``: cell -> object with ``.history``) on one scrubber: their losses,
    their gradient flows at the frame's step and one verdict line each."""
    recorded = [t.history.recorded_steps() for t in trainers.values()]
    common = np.unique(np.concatenate(recorded)) if recorded else np.empty(0, dtype=np.int64)
    steps = [int(s) for s in frame_steps(common, max_frames)]
    panels = [panel("loss", [plots.compare_loss(loss_curves(trainers), baseline)], cursor="x")]
    curves = [gradient_curves(trainers, s) for s in steps]
    flows = [plots.gradient_flow(c, step=s) for c, s in zip(curves, steps, strict=True)]
    panels.append(panel("flow", flows))
    frames = []
    for n, (s, c) in enumerate(zip(steps, curves, strict=True)):
        lines = [f"Training step {s}."]
        lines += [v + "." for v in verdicts(c, next(iter(trainers.values())).history.config)]
        for cell, t in trainers.items():
            rec = t.history.record_at(s)
            if rec is not None and rec.step != s:
                lines.append(f"{cells.get(cell).label} stopped at step {rec.step} ({t.history.status.get('state')}).")
        frames.append({"step": s, "lines": lines, "states": {"loss": 0, "flow": n}})
    return {"title": title, "intro": intro, "frames": frames, "panels": panels, "config": ""}
