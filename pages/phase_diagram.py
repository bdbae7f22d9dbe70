"""Phase diagram: the gradient ratio over a grid of two settings, at initialisation and after K steps."""

import streamlit as st

from rnnviz.errors import RnnvizError
from ui import phase, state, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

phase.open_if_picked()  # a cell was picked: go to the Playground before computing anything here
widgets.header("Phase diagram", phase.CAPTION)
phase.error()
sess = state.session()
config = sess.live_config
top = st.container()
with st.expander("Grid: the two settings, their ranges, points and seeds"):
    axes = phase.axis_knobs(config)
    init_sizes = phase.size_knobs("init")
init_tab, train_tab = top.tabs(["At initialisation", "After K training steps"])

with init_tab:
    try:
        grid = phase.grid_for(config, axes, init_sizes)
        table = phase.table_or_button(grid, sess.data, sess.owner, "init")
        if table is not None:
            phase.draw(table, grid, "init")
        st.caption(f"The same grid from the command line: `{grid.cli()}`")
    except RnnvizError as err:
        st.error(str(err))

with train_tab:
    st.caption("The same two settings and ranges, fewer points: every cell's run is trained K steps as the "
               "Playground trains it, then measured at step K. Computed when you ask.")
    try:
        grid = phase.grid_for(config, axes, phase.size_knobs("train"))
        table = phase.table_or_button(grid, sess.data, sess.owner, "train")
        if table is not None:
            phase.draw(table, grid, "train")
    except RnnvizError as err:
        st.error(str(err))
