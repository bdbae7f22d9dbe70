"""Learn: short explanations, each with a live widget or a preset that shows it."""

import streamlit as st

from rnnviz.config import PRESETS
from rnnviz.lessons import LESSONS, WIDGETS, widget_figure
from ui import sidebar, state, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Learn",
               "Short answers in plain words. Each opens a preset that shows the effect live, or has a "
           "small widget to play with.")


def open_preset(name: str) -> None:
    sidebar.select_preset(name)


for lesson in LESSONS:
    with st.expander(lesson.title, expanded=False):
        st.markdown(lesson.body_markdown)
        if lesson.widget:
            w = WIDGETS[lesson.widget]
            values = {}
            cols = st.columns(len(w.controls))
            for col, c in zip(cols, w.controls, strict=True):
                integer = float(c.step).is_integer() and float(c.min).is_integer()
                cast = int if integer else float
                values[c.name] = col.slider(c.label, cast(c.min), cast(c.max), cast(c.default), cast(c.step),
                                            key=f"learn.{lesson.key}.{c.name}")
            widgets.chart(widget_figure(lesson.widget, **values), key=f"learn.{lesson.key}.fig")
            st.caption(w.caption)
        if lesson.preset and state.flags().usable("preset") and lesson.preset in sidebar.presets_allowed():
            if st.button(f"Open the preset “{PRESETS[lesson.preset].title}” ▶", key=f"learn.{lesson.key}.preset",
                         on_click=open_preset, args=(lesson.preset,)):
                st.switch_page("pages/playground.py", query_params=state.url_params(state.session().live_config,
                                                                                     state.preset_name()))
