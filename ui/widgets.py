"""Widgets shared by the pages (one place, no copy-paste between pages)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from rnnviz import io, plots
from ui import state
from ui.server import figure_cache

#: Plotly's own "download as PNG" button renders in the browser (no network, no kaleido).
PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "scrollZoom": False,  # the mouse wheel scrolls the page; zoom is the toolbar's or a drag's
}


#: Tallest chart in the presentation view: under the strip and the status line it fits 720 px.
PRESENT_MAX_HEIGHT = 430

PNG_HINT = ("PNG: the camera icon in the chart's toolbar (top right of the chart, on hover) saves the picture; "
            "your browser draws it, nothing is sent anywhere.")


def download(label: str, data: Callable[[], str | bytes], file_name: str, mime: str, key: str,
             *, help: str | None = None, type: str = "tertiary") -> None:
    """A download button whose file is built only when clicked (``data`` is a callable).

    Honours the instructor flag ``download`` (hidden: no button; locked: shown disabled).
    """
    flags = state.flags()
    if "download" in flags.hidden:
        return
    st.download_button(label, data=data, file_name=file_name, mime=mime, key=key, on_click="ignore",
                       type=type, disabled="download" in flags.locked, help=help)


def shared_view(sess, *params) -> tuple | None:
    """The figure cache's key for a chart of ``sess``'s run as it is now, with the view ``params`` (step,
    layer, ...): the run, the history object, its trained steps and recorded steps, the presentation
    view. None (no sharing) while a saved run is browsed or the session has no shared run."""
    run = getattr(sess, "shared", None)
    if run is None or sess.loaded is not None or len(sess.runs) > 1:
        return None  # with branches the figure overlays them: this session's own, never shared
    hist = sess.history
    rec = hist.recorded_steps()
    return (run.id, hist.key, sess.current_step, len(rec), int(rec.sum()), state.presenting(), *params)


def _styled(fig):
    if state.presenting() and (fig.layout.height or 0) > PRESENT_MAX_HEIGHT:
        fig.update_layout(height=PRESENT_MAX_HEIGHT)  # the key chart fits a 1280x720 projector
    return fig


def _serialised(fig) -> tuple[str, int | None, str]:
    """(Plotly JSON, height, a digest of the JSON): the digest stands for the text in the element id, which
    Streamlit would otherwise hash from the whole text again on every redraw of every session."""
    import hashlib

    import plotly.io

    spec = plotly.io.to_json(fig, validate=False)
    return spec, fig.layout.height, hashlib.blake2b(spec.encode(), digest_size=16).hexdigest()


def _moving() -> bool:
    """The run on screen trains right now (this session plays, or the run it shares with others was trained in
    the last 2 s, e.g. by the teacher): the per-chart download buttons wait for a pause, since a figure of a
    moving run is out of date at once, and each button costs a server-side registration per redraw."""
    sess = state.session()
    run = getattr(sess, "shared", None)
    return bool(sess.playing or (run is not None and sess.loaded is None and run.watchers() > 1
                                 and time.monotonic() - run.last_tick < 2.0))


def chart(fig, key: str, *, download_name: str | None = None, csv: Callable[[], str] | None = None,
          share: tuple | None = None, on_select: Callable[[], None] | None = None) -> None:
    """Draw a figure full-width with our projector styling; optionally offer it as standalone HTML
    and the numbers behind it as CSV (``csv``: a callable returning the text). ``on_select``: called
    when the user clicks a point (its selection is in ``st.session_state[key]``).

    ``fig`` is a Figure, or a callable that builds it; with ``share`` (:func:`shared_view`) the built and
    serialised figure comes from the server's figure cache, so every session showing the same run, step
    and view reuses one build (issue 13). Files are built only when a button is clicked (deferred data),
    so redraws stay cheap.
    """
    build = fig if callable(fig) else (lambda: fig)
    if share is not None and on_select is None:
        spec, height, digest = figure_cache().get((*share, key), lambda: _serialised(_styled(build())))
        figure_json(spec, height, key, digest)
    else:
        select = dict(on_select=on_select, selection_mode="points") if on_select else {}
        st.plotly_chart(_styled(build()), key=key, theme=None, config=PLOTLY_CONFIG, width="stretch", **select)
    if not (download_name or csv) or "download" in state.flags().hidden or _moving():
        return
    name = download_name or key.replace(".", "-")
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        if download_name:
            download("⬇ figure (HTML)", lambda: plots.figure_to_html(_styled(build())), f"{name}.html", "text/html",
                     key=f"{key}.html", help=f"A standalone page with the interactive figure. {PNG_HINT}")
        if csv is not None:
            download("⬇ data (CSV)", csv, f"{name}.csv", "text/csv", key=f"{key}.csv",
                     help="The recorded numbers this figure shows, for a spreadsheet or your own plots.")


def figure_json(spec: str, height: int | None, key: str, digest: str | None = None) -> None:
    """Draw a Plotly figure already serialised (``plotly.io.to_json``) as ``st.plotly_chart`` would, without
    building or serialising it again. ``st.plotly_chart`` accepts a dict but validates it into a Figure and
    re-serialises it (streamlit/elements/plotly_chart.py), which is the cost the cache saves, so the chart's
    message is made here from the cached text: the same proto fields, element id and layout as
    ``st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG, width="stretch")``. If Streamlit's
    internals move, the figure is read back and drawn by ``st.plotly_chart``. ``digest`` (of ``spec``) stands
    for the text in the element id, so the id is not hashed from the whole figure on every redraw."""
    import json

    try:
        from streamlit.elements.lib import agent_spec
        from streamlit.elements.lib.form_utils import current_form_id
        from streamlit.elements.lib.layout_utils import LayoutConfig
        from streamlit.elements.lib.utils import compute_and_register_element_id
        from streamlit.elements.plotly_chart import _plotly_data
        from streamlit.proto.PlotlyChart_pb2 import PlotlyChart as PlotlyChartProto
    except ImportError:  # pragma: no cover - another Streamlit
        import plotly.io

        st.plotly_chart(plotly.io.from_json(spec), key=key, theme=None, config=PLOTLY_CONFIG, width="stretch")
        return
    dg = st._main  # as st.plotly_chart: the main DeltaGenerator writes into the active container
    proto = PlotlyChartProto()
    proto.theme = ""
    proto.form_id = current_form_id(dg)
    proto.spec = spec
    proto.config = json.dumps(PLOTLY_CONFIG)
    proto.id = compute_and_register_element_id(
        "plotly_chart", user_key=key, key_as_main_identity=False, dg=dg, plotly_spec=digest or proto.spec,
        plotly_config=proto.config, selection_mode=("points", "box", "lasso"), is_selection_activated=False,
        theme=None, width="stretch", height="content", alt=None)
    layout = LayoutConfig(width="stretch", height=int(height) if height and height > 0 else 450)
    dg._enqueue("plotly_chart", proto, layout_config=layout,
                agent_props=agent_spec.element("plotly_chart", key=key, data_builder=lambda: _plotly_data(spec),
                                               alt=None))


def header(title: str, caption: str | None = None) -> None:
    """The page's title and grey caption; none in the presentation view (the top navigation names the
    page, and the key chart must come first)."""
    if state.presenting():
        return
    st.title(title)
    if caption:
        st.caption(caption)


def gates_csv(history, *, step: int, layer: int, direction: int, sample: int) -> str:
    """Every gate of one full record as one CSV: a ``gate`` column, then ``step, t, unit1..unitH``."""
    parts = []
    for g in history.gate_names:
        lines = io.history_to_csv(history, "gate", step=step, layer=layer, direction=direction,
                                  sample=sample, gate=g).splitlines()
        if not parts:
            parts.append("gate," + lines[0])
        parts.extend(f"{g},{line}" for line in lines[1:])
    return "\n".join(parts) + "\n"


def _clamped(key: str, lo: int, hi: int, default: int) -> None:
    """Keep a slider's stored value inside [lo, hi] (the range moves as training goes on or resets)."""
    v = st.session_state.get(key, default)
    st.session_state[key] = min(max(int(v), lo), hi)


def step_picker(steps, key: str, label: str = "Training step", *, playing: bool = False) -> int | None:
    """Pick a recorded training step. While playing (or with 'follow' on) it follows the newest one."""
    if len(steps) == 0:
        return None
    lo, hi = int(steps[0]), int(steps[-1])
    if lo == hi:
        st.caption(f"{label}: {lo}")
        return lo
    follow_key = f"{key}.follow"
    cols = st.columns([5, 1])
    with cols[1]:
        follow = st.toggle("Follow", value=True, key=follow_key, help="Always show the newest recorded step")
    if follow or playing:
        st.session_state[key] = hi
    else:
        _clamped(key, lo, hi, hi)
    with cols[0]:
        return int(st.slider(label, lo, hi, key=key, disabled=follow))


def layer_direction_picker(config, key: str) -> tuple[int, int]:
    """Choose which layer (and direction) to show, only when there is a choice."""
    layer = direction = 0
    if config.num_layers > 1 or config.bidirectional:
        cols = st.columns(2)
        if config.num_layers > 1:
            layer = cols[0].selectbox("Layer", range(config.num_layers), key=f"{key}.layer",
                                      format_func=lambda i: f"layer {i + 1}")
        if config.bidirectional:
            direction = cols[1].radio("Direction", (0, 1), key=f"{key}.dir", horizontal=True,
                                      format_func=lambda d: "forward →" if d == 0 else "← backward")
    return int(layer), int(direction)


def block_picker(cell, key: str) -> int:
    """Which row block of W_hh to show (a gate of an LSTM or GRU: ``cells.Cell.blocks``); 0 if there is one."""
    if len(cell.blocks) <= 1:
        return 0
    return int(st.selectbox("Gate block of W_hh for the eigenvalues", range(len(cell.blocks)), key=key,
                            format_func=lambda i: f"W_h{cell.blocks[i]}"))


def sample_picker(n: int, key: str) -> int:
    """Which of the fixed probe sequences to show."""
    if n <= 1:
        return 0
    return int(st.radio("Probe sequence", range(n), key=key, horizontal=True, format_func=lambda i: f"#{i + 1}"))


NO_TRANSPORT_NOTE = ("The measured transport ||∂h_T/∂h_t|| is drawn for the newest step of a live run only: it "
                     "needs the weights, and a saved run or an older step has none.")


@dataclass(frozen=True)
class View:
    """What a page shows: one recorded step of one layer/direction (and one probe sequence)."""

    hist: object  # RunHistory
    config: object  # ExperimentConfig
    steps: object  # the recorded steps the picker chose from
    rec: object  # StepRecord at the chosen step
    layer: int
    direction: int
    sample: int


def view_picker(sess, key: str, *, full: bool, pick_sample: bool = True) -> View | None:
    """The step scrubber, the layer/direction choice and the probe-sequence choice every page shares.

    ``full=True`` picks among the steps whose hidden states and gates are kept; ``False`` among all
    steps with gradient curves. ``None`` (with a hint shown) when nothing is recorded yet.
    """
    hist, config = sess.history, sess.config
    steps = hist.full_steps() if full else hist.recorded_steps()
    if not len(steps):
        empty_run_hint()
        return None
    # The presentation view folds the pickers away: the key chart comes first on a projector.
    with st.expander("Training step, layer and probe sequence") if state.presenting() else st.container():
        step = step_picker(steps, key=f"{key}.step", playing=sess.playing)
        layer, direction = layer_direction_picker(config, key=key)
        sample = sample_picker(config.probe_size, key=f"{key}.sample") if pick_sample else 0
    return View(hist, config, steps, hist.record_at(step, full=full), layer, direction, sample)


def empty_run_hint() -> None:
    st.info("Nothing recorded yet. Press **▶ Play** or **Step** at the top of the page: step 0 records the "
            "untrained network, so you see its gradients before it learns anything.", icon=":material/arrow_back:")
