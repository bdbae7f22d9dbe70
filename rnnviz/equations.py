"""The cell, opened up: one unit's equations at one timestep, with the numbers filled in.

For a (timestep t, unit j) of one layer and direction, :func:`open_cell` recomputes every
pre-activation of that unit from the module's weights, in float64, and checks it against
:func:`rnnviz.trace.trace` run on the same weights (``CellStep.mismatch``: the largest difference
between a recomputed value and the traced one; tests assert it is below 1e-12 for every cell).

Equations (PyTorch's, as in :mod:`rnnviz.trace_layers`; row j of each weight block, b_* the biases):

    RNN   a_t = W_ih[j]·x_t + b_ih[j] + W_hh[j]·h_{t-1} + b_hh[j],   h_t[j] = tanh(a_t) (or relu)
    LSTM  a^k_t = W_ik[j]·x_t + b_ik[j] + W_hk[j]·h_{t-1} + b_hk[j]   for k in i f g o
          i, f, o = σ(a^i), σ(a^f), σ(a^o);  g = tanh(a^g)
          c_t[j] = f c_{t-1}[j] + i g,   h_t[j] = o tanh(c_t[j])
    GRU   r, z = σ(W_ir[j]·x_t + b_ir[j] + W_hr[j]·h_{t-1} + b_hr[j]), σ(... z ...)
          n = tanh(W_in[j]·x_t + b_in[j] + r (W_hn[j]·h_{t-1} + b_hn[j]))
          h_t[j] = (1 - z) n + z h_{t-1}[j]

Time t is 0-based here (t = 0 is the first input); "h_{t-1}" is the state before step t in the
direction's processing order (t + 1 for the reverse direction), h0 = 0 before the first step.
The input of layer l > 0 is the output of layer l - 1 (both directions concatenated).
Each dot product W[j]·v is also split into its terms W[j, k] v[k]: the largest few by size are
kept (``Term``), with the total.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from rnnviz import cells
from rnnviz.errors import must

#: How many of the largest terms W[j, k] v[k] of each dot product are kept (by |W[j, k] v[k]|).
TOP_TERMS = 4


@dataclass(frozen=True)
class Term:
    """One term W[j, k] v[k] of a dot product: ``k`` (0-based), the weight, the value, their product."""

    index: int
    weight: float
    value: float

    @property
    def product(self) -> float:
        return self.weight * self.value


@dataclass(frozen=True)
class BlockStep:
    """One gate (or the plain RNN's single block "h") of unit j at step t.

    ``pre = input_part + bias_i + hidden_part + bias_h`` (GRU candidate n: ``input_part + bias_i +
    r (hidden_part + bias_h)``); ``value = squash(pre)``; ``traced`` is what the trace recorded.
    """

    name: str  #: "i" "f" "g" "o", "r" "z" "n", or "h" (plain RNN)
    squash: str  #: "sigmoid", "tanh" or "relu"
    input_part: float  #: W_i·[j] x_t
    hidden_part: float  #: W_h·[j] h_{t-1}
    bias_i: float
    bias_h: float
    pre: float  #: the pre-activation
    value: float  #: squash(pre), recomputed here
    traced: float  #: the trace's recorded value
    input_terms: tuple[Term, ...]  #: the largest terms of input_part
    hidden_terms: tuple[Term, ...]  #: the largest terms of hidden_part


@dataclass(frozen=True)
class CellStep:
    """Unit ``unit`` of one layer-direction at timestep ``t`` (0-based) of probe sequence ``sample``."""

    cell: str
    t: int
    unit: int
    layer: int
    direction: int
    sample: int
    x: np.ndarray  #: (I_l,) the layer's input at t
    h_prev: np.ndarray  #: (H,) the state before step t (zeros before the first step)
    c_prev: float | None  #: c_{t-1}[j] (LSTM)
    blocks: dict[str, BlockStep]  #: in the cell's gate order (``cells.Cell.blocks``)
    c: float | None  #: c_t[j] recomputed (LSTM)
    h: float  #: h_t[j] recomputed
    traced_c: float | None
    traced_h: float
    mismatch: float  #: the largest |recomputed - traced| over the gates, c_t and h_t
    first: bool  #: the direction's first step: h_{t-1} (and c_{t-1}) is h0 = 0


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


SQUASH = {"sigmoid": _sigmoid, "tanh": math.tanh, "relu": lambda a: max(a, 0.0)}


def _top_terms(w: np.ndarray, v: np.ndarray, k: int) -> tuple[Term, ...]:
    prod = w * v
    order = np.argsort(-np.abs(prod), kind="stable")[:k]
    return tuple(Term(int(i), float(w[i]), float(v[i])) for i in order if prod[i] != 0 or len(order) == 1)


def forward_trace(module, x):
    """The float64 forward-only :func:`rnnviz.trace.trace` of ``x`` (N, L, I) batch-first through a
    float64 copy of ``module`` (the module itself is untouched): the numbers :func:`open_cell` checks."""
    import torch

    from rnnviz.trace import trace

    m64 = copy.deepcopy(module).double().eval()
    x64 = torch.as_tensor(x).double()
    if not m64.batch_first:
        x64 = x64.transpose(0, 1)
    with torch.no_grad():
        return trace(m64, x64, None), m64


def open_cell(module, x, *, t: int, unit: int, layer: int = 0, direction: int = 0, sample: int = 0,
              top: int = TOP_TERMS, traced=None) -> CellStep:
    """Unit ``unit`` at timestep ``t`` (both 0-based) of sequence ``sample`` of ``x`` (N, L, I, batch-first):
    every pre-activation recomputed from ``module``'s weights in float64 and checked against the trace.

    ``traced``: a ``(trace, float64 module)`` pair from :func:`forward_trace` of the same x, to reuse
    (the UI caches it); computed here otherwise. Bad indices raise ``RnnvizError`` naming the range.
    """
    tr, m64 = traced if traced is not None else forward_trace(module, x)
    c = cells.get(tr.cell_type)
    Lyr, D, N, L, H = tr.hidden.shape
    for name, value, hi in (("layer", layer, Lyr), ("direction", direction, D), ("sample", sample, N),
                            ("t", t, L), ("unit", unit, H)):
        if not isinstance(value, (int, np.integer)) or not 0 <= value < hi:
            raise must(name, f"be an integer in 0..{hi - 1}", value)
    if layer == 0:
        inp = np.asarray(x, dtype=np.float64)[sample, t]
    else:
        inp = np.concatenate([tr.hidden[layer - 1, d, sample, t] for d in range(D)])
    prev_t = t + 1 if direction else t - 1
    first = not 0 <= prev_t < L
    h_prev = np.zeros(H) if first else tr.hidden[layer, direction, sample, prev_t].astype(np.float64)
    sfx = cells.weight_suffix(layer, direction)
    w_ih = getattr(m64, "weight_ih" + sfx).detach().numpy()
    w_hh = getattr(m64, "weight_hh" + sfx).detach().numpy()
    zeros = np.zeros(w_ih.shape[0])
    b_ih = getattr(m64, "bias_ih" + sfx).detach().numpy() if m64.bias else zeros
    b_hh = getattr(m64, "bias_hh" + sfx).detach().numpy() if m64.bias else zeros
    blocks: dict[str, BlockStep] = {}
    for k, name in enumerate(c.blocks):
        row = k * H + unit
        squash = c.nonlinearity if not c.gates else "tanh" if name in c.tanh_gates else "sigmoid"
        a_in, a_h = float(w_ih[row] @ inp), float(w_hh[row] @ h_prev)
        if name == "n":  # GRU candidate: the reset gate scales the whole hidden side
            pre = a_in + b_ih[row] + blocks["r"].value * (a_h + b_hh[row])
        else:
            pre = a_in + b_ih[row] + a_h + b_hh[row]
        traced_value = tr.gates[name][layer, direction, sample, t, unit] if c.gates else \
            tr.hidden[layer, direction, sample, t, unit]
        blocks[name] = BlockStep(name, squash, a_in, a_h, float(b_ih[row]), float(b_hh[row]), float(pre),
                                 SQUASH[squash](float(pre)), float(traced_value),
                                 _top_terms(w_ih[row], inp, top), _top_terms(w_hh[row], h_prev, top))
    c_prev = c_t = traced_c = None
    if c.name == "lstm":
        c_prev = 0.0 if first else float(tr.cell[layer, direction, sample, prev_t, unit])
        v = {k: b.value for k, b in blocks.items()}
        c_t = v["f"] * c_prev + v["i"] * v["g"]
        h_t = v["o"] * math.tanh(c_t)
        traced_c = float(tr.cell[layer, direction, sample, t, unit])
    elif c.name == "gru":
        z, n = blocks["z"].value, blocks["n"].value
        h_t = (1.0 - z) * n + z * float(h_prev[unit])
    else:
        h_t = blocks["h"].value
    traced_h = float(tr.hidden[layer, direction, sample, t, unit])
    diffs = [abs(b.value - b.traced) for b in blocks.values()] + [abs(h_t - traced_h)]
    diffs += [abs(c_t - traced_c)] if c_t is not None else []
    return CellStep(c.name, t, unit, layer, direction, sample, inp, h_prev, c_prev, blocks, c_t, h_t, traced_c,
                    traced_h, float(max(diffs)), first)


# ----------------------------------------------------------------------------- words and LaTeX


def num(v: float, digits: int = 4) -> str:
    """A number for an equation: ``digits`` significant figures, LaTeX powers of ten for tiny or huge values."""
    if not math.isfinite(v):
        return r"\infty" if v > 0 else r"-\infty" if v < 0 else r"\mathrm{nan}"
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant}\times 10^{{{int(exp)}}}"
    return text


_SQUASH_TEX = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{relu}"}


def factor(v: float) -> str:
    """:func:`num` in parentheses when negative, for a product written ``a \\times b``."""
    text = num(v)
    return f"({text})" if text.startswith("-") else text


def latex_lines(step: CellStep) -> list[str]:
    """One LaTeX equation per block, then c_t and h_t (LSTM, GRU), with unit j's numbers filled in.

    Time and units are written 1-based, as on the heatmaps: step ``t`` is ``t + 1``; the state before it
    is ``t`` (forward) or ``t + 2`` (reverse direction), whose value at the first step is h0 = 0.
    """
    t, j = step.t + 1, step.unit + 1
    p = t + 1 if step.direction else t - 1
    lines = []
    for name, b in step.blocks.items():
        sq = _SQUASH_TEX[b.squash]
        lhs = f"{name}_{{{t}}}[{j}]"
        wi, wh = (f"W_{{i{name}}}", f"W_{{h{name}}}") if name != "h" else ("W_{ih}", "W_{hh}")
        x_part = rf"\underbrace{{{wi}[{j}]\,x_{{{t}}}}}_{{{num(b.input_part)}}}"
        h_part = rf"\underbrace{{{wh}[{j}]\,h_{{{p}}}}}_{{{num(b.hidden_part)}}}"
        if name == "n":
            r = num(step.blocks["r"].value)
            inner = (rf"{x_part} + \underbrace{{b_{{in}}}}_{{{num(b.bias_i)}}} + \underbrace{{r_{{{t}}}}}_{{{r}}}"
                     rf"\,\big({h_part} + \underbrace{{b_{{hn}}}}_{{{num(b.bias_h)}}}\big)")
        else:
            inner = rf"{x_part} + {h_part} + \underbrace{{b}}_{{{num(b.bias_i + b.bias_h)}}}"
        lines.append(rf"{lhs} = {sq}\Big({inner}\Big) = {sq}({num(b.pre)}) = {num(b.value)}")
    v = {k: b.value for k, b in step.blocks.items()}
    if step.cell == "lstm":
        lines.append(rf"c_{{{t}}}[{j}] = f_{{{t}}}\,c_{{{p}}} + i_{{{t}}}\,g_{{{t}}} = {factor(v['f'])}\times"
                     rf"{factor(step.c_prev)} + {factor(v['i'])}\times{factor(v['g'])} = {num(step.c)}")
        lines.append(rf"h_{{{t}}}[{j}] = o_{{{t}}}\,\tanh(c_{{{t}}}) = {factor(v['o'])}\times\tanh({num(step.c)})"
                     rf" = {num(step.h)}")
    elif step.cell == "gru":
        lines.append(rf"h_{{{t}}}[{j}] = (1-z_{{{t}}})\,n_{{{t}}} + z_{{{t}}}\,h_{{{p}}} = (1-{factor(v['z'])})"
                     rf"\times{factor(v['n'])} + {factor(v['z'])}\times{factor(float(step.h_prev[step.unit]))} = "
                     rf"{num(step.h)}")
    return lines


def terms_table(step: CellStep) -> list[dict[str, str]]:
    """Rows for a table of the largest terms of each block's recurrent dot product W_h·[j] h_{t-1}:
    ``block``, ``from unit`` (k, 1-based), the weight, ``h_(t−1)[k]``, their product, its share of the sum, the sum."""
    rows = []
    for name, b in step.blocks.items():
        for term in b.hidden_terms:
            share = term.product / b.hidden_part if b.hidden_part else math.nan
            rows.append({"block": name, "from unit": str(term.index + 1), "weight W[j,k]": num(term.weight, 3),
                         "h_(t−1)[k]": num(term.value, 3), "product": num(term.product, 3),
                         "of the sum": f"{share:.0%}" if math.isfinite(share) else "–",
                         "sum W·h_(t−1)": num(b.hidden_part, 4)})
    return rows


__all__ = ["TOP_TERMS", "Term", "BlockStep", "CellStep", "forward_trace", "open_cell", "latex_lines",
           "terms_table", "num"]

