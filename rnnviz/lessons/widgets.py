"""The Learn page's small live widgets: sliders whose figure comes from ``rnnviz.plots``.

The page draws sliders from a widget's controls and calls :func:`widget_figure`: no maths lives in the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.errors import RnnvizError


@dataclass(frozen=True)
class Control:
    """One slider of a widget: keyword ``name`` of the figure builder, its label and range."""

    name: str
    label: str
    min: float
    max: float
    default: float
    step: float


@dataclass(frozen=True)
class Widget:
    """A live figure on the Learn page: ``rnnviz.plots.<builder>(**{control.name: value})``."""

    key: str
    caption: str
    builder: str
    controls: tuple[Control, ...]


WIDGETS: dict[str, Widget] = {
    w.key: w
    for w in (
        Widget(
            "jacobian_product",
            "One step multiplies the gradient by at most γσ_max: below 1 it dies geometrically for sure. "
            "The spectral radius ρ is only the long-run rate: with ρ < 1 < σ_max the example first grows.",
            "jacobian_product_figure",
            (
                Control("sigma_max", "largest singular value σ_max of W_hh", 0.0, 3.0, 1.6, 0.05),
                Control("rho", "spectral radius ρ of W_hh (≤ σ_max)", 0.0, 2.0, 0.9, 0.05),
                Control("T", "steps back in time T", 1, 300, 100, 1),
                Control(
                    "gamma",
                    "largest slope γ of the nonlinearity (1 tanh, 0.25 sigmoid)",
                    0.25,
                    1.0,
                    1.0,
                    0.25,
                ),
            ),
        ),
        Widget(
            "clipping",
            "Clipping keeps the direction of the gradient and caps its length at θ.",
            "clipping_figure",
            (
                Control("gx", "gradient component g₁", -6.0, 6.0, 3.0, 0.1),
                Control("gy", "gradient component g₂", -6.0, 6.0, 4.0, 0.1),
                Control("threshold", "threshold θ", 0.1, 5.0, 1.0, 0.1),
            ),
        ),
        Widget(
            "sigmoid_tanh",
            "The slope of each nonlinearity is at most γ: 1/4 for the sigmoid, 1 for tanh and relu.",
            "nonlinearity_figure",
            (Control("x_max", "input range ±x", 1.0, 10.0, 6.0, 0.5),),
        ),
    )
}


def widget_figure(key: str, **values):
    """The figure of widget ``key`` with control values (missing ones take their defaults)."""
    if key not in WIDGETS:
        raise RnnvizError(f"widget must be one of {sorted(WIDGETS)}, got {key!r}")
    widget = WIDGETS[key]
    known = {c.name: c for c in widget.controls}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RnnvizError(f"widget {key!r} has controls {sorted(known)}, got unknown {unknown}")
    kwargs = {name: values.get(name, c.default) for name, c in known.items()}
    from rnnviz import plots  # plotly only when a widget is drawn

    return getattr(plots, widget.builder)(**kwargs)
