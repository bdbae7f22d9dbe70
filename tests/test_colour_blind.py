"""Every categorical palette stays distinguishable for colour-blind viewers (issue 11).

Each palette is passed through colorspacious's simulation of deuteranopia and protanopia (Machado et
al. 2009, severity 100: full dichromacy), and every pair must stay at least ``MIN_DISTANCE`` apart in
CAM02-UCS (Luo et al. 2006), where a distance of about 1 is one just-noticeable difference between
large patches. Why 12: our colours are 2-3 px lines and 10 px markers on a projector, which need far
more than one JND; Okabe-Ito's closest pair under simulation is 14 (pink vs green for deutans, pink
vs blue for protans), while the first five colours of Plotly's and matplotlib's default palette (D3's
category10) fall to 5.2 (red/green, deutans) and 1.6 (orange/green, protans), so the threshold tells
a safe palette from an unsafe one. Cells also differ by dash style.
"""

import itertools

import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE

from rnnviz import cells, plots
from rnnviz.plots import style

MIN_DISTANCE = 12.0
DEFICIENCIES = ("deuteranomaly", "protanomaly")
PALETTES = {
    "cells": [c.colour for c in cells.CELLS.values()],
    "figure palette": list(style._PALETTE),
    "runs (original and branches)": list(style.RUN_COLOURS),
    **{f"{name} gates": [plots.GATE_COLOURS[g] for g in c.gates] for name, c in cells.CELLS.items() if c.gates},
}


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255


def closest_pair(colours, deficiency: str) -> tuple[float, str, str]:
    """The smallest CAM02-UCS distance between two of ``colours`` as seen with ``deficiency``."""
    space = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
    seen = {c: np.clip(cspace_convert(_rgb(c), space, "sRGB1"), 0, 1) for c in colours}
    return min((float(deltaE(seen[a], seen[b], input_space="sRGB1", uniform_space="CAM02-UCS")), a, b)
               for a, b in itertools.combinations(colours, 2))


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
@pytest.mark.parametrize("palette", sorted(PALETTES))
def test_every_categorical_palette_survives_colour_blindness(palette, deficiency):
    distance, a, b = closest_pair(PALETTES[palette], deficiency)
    assert distance >= MIN_DISTANCE, f"{palette}: {a} and {b} are {distance:.1f} apart for {deficiency}"


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
def test_the_threshold_rejects_the_default_category10_palette(deficiency):
    assert closest_pair(["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD"], deficiency)[0] < MIN_DISTANCE


def test_runs_also_differ_by_dash_style():
    assert len(set(style.RUN_DASHES)) == len(style.RUN_DASHES) == len(style.RUN_COLOURS)


def test_cells_also_differ_by_dash_style_and_colour():
    assert len({c.dash for c in cells.CELLS.values()}) == len(cells.CELLS)
    assert len({c.colour for c in cells.CELLS.values()}) == len(cells.CELLS)
