"""Pure figure builders: NumPy arrays in, ``plotly.graph_objects.Figure`` out.

Every figure carries a title saying what it shows, axis titles with units, hover values,
colour bars that say what the colour means, projector-sized fonts and a ``uirevision``
(one stable string per figure kind, so a user's zoom survives the twice-a-second redraws).
Colours are fixed per cell type (RNN / LSTM / GRU) and per gate, on every page.

One module per family of figures; this package re-exports every public name, so callers
write ``from rnnviz import plots; plots.loss_curve(...)``:

- :mod:`~rnnviz.plots.style` — fonts, colours, template, the shared styling step, log axes;
- :mod:`~rnnviz.plots.training` — loss, gradient norm per step, compared losses;
- :mod:`~rnnviz.plots.gradients` — gradient flow through time, its heatmap, cell vs hidden, per block;
- :mod:`~rnnviz.plots.states` — hidden-state heatmap and animation, gates, saturation, PCA;
- :mod:`~rnnviz.plots.spectrum` — eigenvalues of W_hh;
- :mod:`~rnnviz.plots.learn` — the Learn page's widget figures;
- :mod:`~rnnviz.plots.cellview` — one unit's cell with its numbers on the wires, the backward walk.
- :mod:`~rnnviz.plots.inputs` — saliency ||dL/dx_t|| under the input strip, forecasts against the truth;
- :mod:`~rnnviz.plots.text` — text coloured per character (HTML, every character escaped).
- :mod:`~rnnviz.plots.phase` — the phase diagram (gradient ratio over a grid of two settings).
- :mod:`~rnnviz.plots.success` — success rate of training sweeps against sequence length.

A builder's first argument may also be what ``rnnviz.trace`` or the Trainer returns (a ``Trace``, a
``RunHistory``): :mod:`rnnviz.plots.unpack` says which.

The conventions every builder follows (1-based time, non-finite values as gaps) are in
:mod:`rnnviz.plots.style`. This package never imports torch or streamlit.
"""

from rnnviz.plots.cellview import backward_walk, cell_diagram, click_layer, walk_position
from rnnviz.plots.gradients import (
    block_words,
    cell_vs_hidden_flow,
    gradient_flow,
    gradient_flow_heatmap,
    param_grad_bars,
    transport_curve,
)
from rnnviz.plots.inputs import forecast_figure, saliency_figure
from rnnviz.plots.learn import clipping_figure, jacobian_product_figure, nonlinearity_figure
from rnnviz.plots.phase import LIVE_TRACE, PICK_TRACE, diverging_scale, phase_heatmap
from rnnviz.plots.spectrum import eigenvalue_plot, unit_midpoint_scale
from rnnviz.plots.states import (
    MAX_ANIMATION_FRAMES,
    gate_heatmaps,
    hidden_animation,
    hidden_heatmap,
    pca_trajectory_figure,
    saturation_curve,
)
from rnnviz.plots.style import (
    BASE_FONT_SIZE,
    CELL_COLOURS,
    CELL_LABELS,
    GATE_COLOURS,
    GATE_TITLES,
    NOT_FINITE_NOTE,
    RUN_COLOURS,
    RUN_DASHES,
    TANH_GATES,
    TITLE_FONT_SIZE,
    cell_colour,
    cell_of_label,
    figure_to_html,
    gate_colour,
    run_style,
)
from rnnviz.plots.success import success_vs_length
from rnnviz.plots.text import colour_key_html, coloured_text_html, generated_text_html
from rnnviz.plots.training import compare_loss, grad_norm_curve, loss_curve

__all__ = [
    "BASE_FONT_SIZE",
    "CELL_COLOURS",
    "CELL_LABELS",
    "GATE_COLOURS",
    "GATE_TITLES",
    "NOT_FINITE_NOTE",
    "RUN_COLOURS",
    "RUN_DASHES",
    "TANH_GATES",
    "TITLE_FONT_SIZE",
    "MAX_ANIMATION_FRAMES",
    "cell_colour",
    "cell_of_label",
    "gate_colour",
    "run_style",
    "loss_curve",
    "grad_norm_curve",
    "compare_loss",
    "gradient_flow",
    "cell_vs_hidden_flow",
    "gradient_flow_heatmap",
    "transport_curve",
    "hidden_heatmap",
    "hidden_animation",
    "gate_heatmaps",
    "saturation_curve",
    "pca_trajectory_figure",
    "eigenvalue_plot",
    "unit_midpoint_scale",
    "param_grad_bars",
    "block_words",
    "jacobian_product_figure",
    "clipping_figure",
    "nonlinearity_figure",
    "figure_to_html",
    "cell_diagram",
    "backward_walk",
    "walk_position",
    "click_layer",
    "saliency_figure",
    "forecast_figure",
    "coloured_text_html",
    "colour_key_html",
    "generated_text_html",
    "phase_heatmap",
    "diverging_scale",
    "PICK_TRACE",
    "LIVE_TRACE",
    "success_vs_length",
]
