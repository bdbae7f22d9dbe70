"""The one table of cell types: every per-cell fact the app uses, one frozen row per cell.

Standard library only (no torch import), so the sidebar, the plots and the analysis can all
read it cheaply. Adding a cell type starts here (see docs/ARCHITECTURE.md, "How to add ...").

Row facts:

* ``gates``: gate names in PyTorch's row order of ``weight_ih_l{k}`` / ``weight_hh_l{k}``
  (torch.nn.LSTM docs: ``W_ii|W_if|W_ig|W_io``; torch.nn.GRU docs: ``W_ir|W_iz|W_in``).
  ``weight_hh`` has ``len(blocks) * H`` rows, block ``b`` being rows ``b*H .. (b+1)*H - 1``.
* ``gamma = sup |phi'(x)|``: the largest slope of the nonlinearity ``phi`` that carries
  ``h_{t-1} -> h_t`` (Pascanu et al. 2013, "On the difficulty of training recurrent neural
  networks"). ``tanh' = 1 - tanh^2 <= 1`` at 0; ``relu' in {0, 1}``. With it,
  ``||dh_t/dh_{t-1}|| <= sigma_max(W_hh) * gamma`` bounds every step of a plain RNN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rnnviz.errors import RnnvizError


@dataclass(frozen=True)
class Cell:
    """Everything the app knows about one recurrent cell type."""

    name: str  #: the config value, e.g. "lstm"
    label: str  #: words for people, e.g. "LSTM"
    colour: str  #: hex colour, Okabe-Ito colour-blind-safe palette
    dash: str  #: plotly dash style, distinct per cell
    torch_class: str  #: the torch.nn class name: "RNN", "LSTM" or "GRU"
    nonlinearity: str  #: what carries h_{t-1} -> h_t: "tanh" or "relu"
    gamma: float  #: sup |phi'| of that nonlinearity
    gates: tuple[str, ...]  #: gate names in PyTorch's row order of weight_ih / weight_hh
    tanh_gates: frozenset[str]  #: gates squashed by tanh (range -1..1); the others are sigmoids (0..1)
    gate_labels: Mapping[str, str]  #: gate name -> words, e.g. "f" -> "forget"

    @property
    def blocks(self) -> tuple[str, ...]:
        """Row blocks of ``W_hh``: the gates, or ``("h",)`` for a plain RNN (one block of H rows)."""
        return self.gates or ("h",)

    @property
    def param_blocks(self) -> tuple[str, ...]:
        """The parameter blocks trace.py records gradient norms for, in order: ``W_i<b>, W_h<b>, b_i<b>,
        b_h<b>`` over ``blocks``: ``W_ii .. W_io W_hi .. b_ho`` (LSTM), ``W_ir .. b_hn`` (GRU),
        ``W_ih W_hh b_ih b_hh`` (RNN)."""
        return tuple(prefix + b for prefix in ("W_i", "W_h", "b_i", "b_h") for b in self.blocks)

    @property
    def torch_kwargs(self) -> dict[str, str]:
        """What ``getattr(torch.nn, torch_class)(...)`` needs besides the sizes to be this cell."""
        return {"nonlinearity": self.nonlinearity} if self.torch_class == "RNN" else {}


def _labels(**words: str) -> Mapping[str, str]:
    return MappingProxyType(dict(words))


#: All cells, in display order. Keys equal ``Cell.name``.
CELLS: dict[str, Cell] = {
    c.name: c
    for c in (
        Cell("rnn_tanh", "tanh RNN", "#D55E00", "solid", "RNN", "tanh", 1.0, (), frozenset(), _labels()),
        Cell("rnn_relu", "ReLU RNN", "#CC79A7", "dash", "RNN", "relu", 1.0, (), frozenset(), _labels()),
        Cell("lstm", "LSTM", "#0072B2", "dot", "LSTM", "tanh", 1.0, ("i", "f", "g", "o"), frozenset({"g"}),
             _labels(i="input", f="forget", g="candidate", o="output")),
        Cell("gru", "GRU", "#009E73", "dashdot", "GRU", "tanh", 1.0, ("r", "z", "n"), frozenset({"n"}),
             _labels(r="reset", z="update", n="candidate")),
    )
}


def get(name: str) -> Cell:
    """The row of cell ``name``; ``RnnvizError`` naming the allowed cells otherwise."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise RnnvizError(f"cell must be one of {list(CELLS)}, got {name!r}") from None


def cell_of_module(module: object) -> str:
    """The cell name of a ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` (or a subclass), by class name.

    A plain ``nn.RNN`` is told apart by its ``.nonlinearity`` ("tanh" or "relu").
    """
    classes = {k.__name__ for k in type(module).__mro__ if k.__module__.startswith("torch.nn")}
    for cell in CELLS.values():
        if cell.torch_class in classes and (
                cell.torch_class != "RNN" or getattr(module, "nonlinearity", None) == cell.nonlinearity):
            return cell.name
    raise RnnvizError(f"module must be torch.nn.RNN, nn.LSTM or nn.GRU, got {type(module).__name__}")


def weight_suffix(layer: int, direction: int) -> str:
    """The parameter-name suffix of layer ``layer``, direction ``direction`` (1 = reverse).

    ``weight_hh`` + ``weight_suffix(1, 1)`` = ``weight_hh_l1_reverse`` (torch.nn.RNNBase naming).
    """
    return f"_l{layer}" + ("_reverse" if direction else "")
