"""The Phase diagram page's parts: the grid knobs, the computation through the server's training gate
(with a progress bar; one shared job per grid), the clickable heatmap and its fallback picker.

What a cell means and how it is computed: rnnviz/sweep/phase.py. Figures: rnnviz/plots/phase.py.

- Grids at initialisation are computed as soon as the page shows them; grids after K training steps
  only when asked (a button). Each slice of a job (``PhaseJob.run_next``, about ``SLICE_SECONDS`` of
  compute) runs inside one training slot of the session's owner, so other sessions train in between.
- Jobs are kept per grid (``PhaseGrid.key``: the live config (at init without its training-only fields),
  both axes, seeds, steps): server-wide
  when the run trains on the shipped data (a class opening the same grid computes it once, together),
  in the session when it trains on uploaded data. At most ``MAX_JOBS`` are kept.
- A click on a cell (or the picker's button) applies that cell's config to the live run
  (``state.apply_config``, refused for a field the instructor locked) and opens the Playground.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import partial

import streamlit as st

from rnnviz.config import FIELDS
from rnnviz.errors import RnnvizError
from rnnviz.flow import gradient_enters_at_T_only
from rnnviz.plots.phase import phase_heatmap
from rnnviz.session import COMPUTE_WAIT_SECONDS
from rnnviz.sweep.phase import (
    AXIS_DEFAULTS,
    AXIS_FIELDS,
    MAX_POINTS,
    MAX_SEEDS,
    MAX_TRAIN_STEPS,
    AxisChoice,
    PhaseGrid,
    PhaseJob,
    PhaseTable,
    default_axes,
    estimated_seconds,
    phase_grid,
    theory_lines,
)
from ui import state, widgets
from ui.server import training_gate

CAPTION = ("The gradient ratio ||dL/dh_1|| / ||dL/dh_T|| around your run. Blue: vanishing, red: "
           "exploding. Click a cell to open it in the Playground.")
#: Points per axis and seeds, per tab: at initialisation (computed at once) and after training (on demand).
TAB_DEFAULTS = {"init": dict(y=16, x=10, seeds=3), "train": dict(y=6, x=4, seeds=1, steps=30)}
#: Default range of seq_len on this page (20, 40, ..., 200 with 10 points).
SEQ_LEN_RANGE = (20.0, 200.0)
MAX_JOBS = 16
#: How often a session whose grid another session is computing looks again (it holds no training slot meanwhile).
SHARED_WAIT_SECONDS = 0.2
#: A grid at initialisation estimated (step-cost rule, an upper estimate) at most this is computed at once.
AUTO_SECONDS = 30.0
OPEN_KEY = "phase.open"  # set by a pick: switch to the Playground on this run
ERROR_KEY = "phase.error"
JOBS_KEY = "phase.jobs"


class _Jobs:
    """Jobs by key, least recently used dropped beyond MAX_JOBS (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs: OrderedDict = OrderedDict()

    def get(self, key, make) -> PhaseJob:
        with self.lock:
            job = self.jobs.pop(key, None) or make()
            self.jobs[key] = job
            while len(self.jobs) > MAX_JOBS:
                self.jobs.popitem(last=False)
            return job

    def peek(self, key) -> PhaseJob | None:
        with self.lock:
            return self.jobs.get(key)


@st.cache_resource
def shared_jobs() -> _Jobs:
    """Phase jobs on the shipped data, shared by every session of the server."""
    return _Jobs()


def _jobs(data) -> tuple[_Jobs, object]:
    if data is None:
        return shared_jobs(), None
    return st.session_state.setdefault(JOBS_KEY, _Jobs()), id(data)


# --------------------------------------------------------------------------------------------- knobs
def _on_field(which: str) -> None:
    lo, hi, log = _range_of(st.session_state[f"phase.{which}.field"])
    st.session_state[f"phase.{which}.lo"], st.session_state[f"phase.{which}.hi"] = lo, hi
    st.session_state[f"phase.{which}.log"] = log


def _range_of(name: str) -> tuple[float, float, bool]:
    lo, hi, log = AXIS_DEFAULTS[name]
    return (*SEQ_LEN_RANGE, False) if name == "seq_len" else (float(lo), float(hi), log)


def axis_knobs(config) -> tuple[tuple[str, float, float, bool], tuple[str, float, float, bool]]:
    """The two axes' fields and ranges (shared by both tabs): (field, from, to, log) for rows and columns."""
    y0, x0 = default_axes(config)
    out = []
    for which, label, default in (("y", "Rows (y axis)", y0.field), ("x", "Columns (x axis)", x0.field)):
        if f"phase.{which}.field" not in st.session_state:
            st.session_state[f"phase.{which}.field"] = default
            _on_field(which)
        cols = st.columns([3, 2, 2, 1.3], vertical_alignment="bottom")
        name = cols[0].selectbox(label, AXIS_FIELDS, key=f"phase.{which}.field", format_func=lambda n: FIELDS[n].label,
                                 on_change=_on_field, args=(which,))
        lo = cols[1].number_input("from", key=f"phase.{which}.lo", step=None, format="%g")
        hi = cols[2].number_input("to", key=f"phase.{which}.hi", step=None, format="%g")
        log = cols[3].toggle("log", key=f"phase.{which}.log", help="Space the values logarithmically.")
        out.append((name, lo, hi, log))
    return out[0], out[1]


def size_knobs(tab: str) -> dict:
    """Points per axis and seeds of one tab (and K, the training steps, on the training tab)."""
    d = TAB_DEFAULTS[tab]
    cols = st.columns(4 if tab == "train" else 3)
    out = dict(
        y=cols[0].number_input("row points", 2, MAX_POINTS, d["y"], key=f"phase.{tab}.ny"),
        x=cols[1].number_input("column points", 2, MAX_POINTS, d["x"], key=f"phase.{tab}.nx"),
        seeds=cols[2].number_input("seeds", 1, MAX_SEEDS, d["seeds"], key=f"phase.{tab}.seeds",
                                   help="Each cell shows the median over the seeds; the hover shows their range."),
        steps=0)
    if tab == "train":
        out["steps"] = cols[3].number_input("K training steps", 1, MAX_TRAIN_STEPS, d["steps"], key="phase.train.steps",
                                            help="Each cell's run is trained K steps as the Playground trains it, "
                                                 "then its gradient ratio is measured at step K.")
    return out


def grid_for(config, axes, sizes: dict) -> PhaseGrid:
    """The checked grid of the knobs (RnnvizError with the rule and the value otherwise)."""
    (yf, ylo, yhi, ylog), (xf, xlo, xhi, xlog) = axes
    return phase_grid(config, AxisChoice(yf, ylo, yhi, int(sizes["y"]), ylog),
                      AxisChoice(xf, xlo, xhi, int(sizes["x"]), xlog), int(sizes["seeds"]), int(sizes["steps"]))


# ------------------------------------------------------------------------------------------- compute
def finished_table(grid: PhaseGrid, data) -> PhaseTable | None:
    """The grid's table if it was computed already (by anyone), else None."""
    jobs, tag = _jobs(data)
    job = jobs.peek((grid.key, tag))
    return job.table() if job is not None and job.done else None


def compute(grid: PhaseGrid, data, owner: str) -> PhaseTable:
    """The grid's table: computed slice by slice, each inside one of the server's training slots, with a
    progress bar; a job another session started is continued, not repeated."""
    jobs, tag = _jobs(data)
    job = jobs.get((grid.key, tag), lambda: PhaseJob(grid, data))
    if not job.done:
        gate = training_gate()
        what = "training" if grid.steps else "computing"
        bar = st.progress(job.finished / job.total, text=f"{what} the grid: {job.finished} of {job.total} runs")
        while not job.done:
            if job.lock.locked():  # another session is computing a slice of this grid: wait without a slot
                time.sleep(SHARED_WAIT_SECONDS)
                bar.progress(job.finished / job.total, text=f"{what} the grid: {job.finished} of {job.total} runs "
                                                            f"(with another session asking for the same grid)")
                continue
            with gate.slot(owner, COMPUTE_WAIT_SECONDS) as admitted:
                if not admitted:
                    raise RnnvizError(f"the phase grid must wait for one of the server's {gate.slots} training "
                                      f"slot(s), got none free within {COMPUTE_WAIT_SECONDS:g} s (the server is "
                                      f"busy); what is done is kept: open the page again to go on")
                job.run_next()
            bar.progress(job.finished / job.total, text=f"{what} the grid: {job.finished} of {job.total} runs")
        bar.empty()
    return job.table()


# ---------------------------------------------------------------------------------------- draw, pick
def _pick(grid: PhaseGrid, row: int, col: int) -> None:
    """Apply the cell's config to the live run (unless it changes a locked field) and ask for the Playground."""
    try:
        config = grid.config_at(row, col)
        blocked = state.flags().blocked(state.session().live_config, config)
        if blocked:
            raise RnnvizError(f"this cell would change {', '.join(blocked)}, which the instructor locked; "
                              f"kept the current settings")
        state.apply_config(config)
    except RnnvizError as err:
        st.session_state[ERROR_KEY] = str(err)
        return
    st.session_state.pop(ERROR_KEY, None)
    st.session_state[OPEN_KEY] = True


def _on_chart(grid: PhaseGrid, key: str) -> None:
    points = st.session_state[key].selection.get("points", [])
    if points:
        _pick(grid, int(round(points[0]["y"])), int(round(points[0]["x"])))


def _on_button(grid: PhaseGrid, tab: str) -> None:
    _pick(grid, st.session_state[f"phase.{tab}.pick.y"], st.session_state[f"phase.{tab}.pick.x"])


def draw(table: PhaseTable, grid: PhaseGrid, tab: str) -> None:
    """The heatmap of ``table`` (computed for ``grid`` or for a grid with the same ``key``: a cell opens
    ``grid``'s config, so the session's own training settings), its lines, the fallback picker and the CSV."""
    lines, words = theory_lines(table, gradient_enters_at_T_only(grid.base, 0, 0))
    when = f"after {grid.steps} training steps" if grid.steps else "at initialisation"
    fig = phase_heatmap(table.ratio, grid.y.values, grid.x.values, FIELDS[grid.y.field].label,
                        FIELDS[grid.x.field].label, ratio_min=table.ratio_min, ratio_max=table.ratio_max,
                        sigma_max=table.sigma_max, spectral_radius=table.spectral_radius, diverged=table.diverged,
                        lines=lines, live=grid.live_position(), when=when, seeds=grid.seeds)
    if state.presenting():
        fig.update_layout(height=widgets.PRESENT_MAX_HEIGHT)
    key = f"phase.{tab}.chart"
    st.plotly_chart(fig, key=key, theme=None, config=widgets.PLOTLY_CONFIG, width="stretch",
                    on_select=partial(_on_chart, grid, key), selection_mode="points")
    st.caption(words)
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        y_label, x_label = FIELDS[grid.y.field].label, FIELDS[grid.x.field].label
        st.selectbox(y_label, range(len(grid.y.values)), key=f"phase.{tab}.pick.y", width=220,
                     format_func=lambda i: str(grid.y.values[i]))
        st.selectbox(x_label, range(len(grid.x.values)), key=f"phase.{tab}.pick.x", width=220,
                     format_func=lambda i: str(grid.x.values[i]))
        st.button("Open this cell in the Playground ▶", key=f"phase.{tab}.open", on_click=_on_button,
                  args=(grid, tab), disabled=not state.flags().usable("preset"))
        widgets.download("⬇ data (CSV)", table.csv, f"phase-{tab}.csv", "text/csv", key=f"phase.{tab}.csv",
                         help="One row per cell: the two settings, σ_max, spectral radius, the median ratio "
                              "and its range over seeds (the columns of python -m rnnviz sweep).")


def error() -> None:
    """The last refused pick, if any."""
    if ERROR_KEY in st.session_state:
        st.error(st.session_state[ERROR_KEY])


def open_if_picked() -> None:
    """After a pick: the Playground, with the picked config in the link."""
    if st.session_state.pop(OPEN_KEY, False):
        st.switch_page("pages/playground.py",
                       query_params=state.url_params(state.session().live_config, state.preset_name()))


def table_or_button(grid: PhaseGrid, data, owner: str, tab: str) -> PhaseTable | None:
    """The grid's table: computed already, or now (at initialisation, when it is estimated at most
    AUTO_SECONDS), or when its button is pressed; None while it waits for the button."""
    table = finished_table(grid, data)
    if table is not None:
        return table
    if grid.steps == 0 and estimated_seconds(grid) <= AUTO_SECONDS:
        return compute(grid, data, owner)
    runs = len(grid.y.values) * len(grid.x.values) * grid.seeds
    label = (f"Train the grid: {runs} runs × {grid.steps} steps" if grid.steps else
             f"Compute the grid: {runs} runs (a large one: it takes a while)")
    if st.button(label, key=f"phase.{tab}.go", type="primary"):
        return compute(grid, data, owner)
    return None
