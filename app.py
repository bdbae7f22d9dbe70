"""rnnviz entry point: `streamlit run app.py` (or `make run`).

Sets the page config, bounds torch's threads (many sessions share few cores), sets up the
session's run from the URL, draws the shared sidebar and navigates over the pages in pages/.
"""

import streamlit as st

from rnnviz.trainer import limit_threads
from ui import share, sidebar, state

st.set_page_config(page_title="rnnviz: inside recurrent networks", page_icon=":material/cycle:", layout="wide")
limit_threads(1)

PAGES = [
    st.Page("pages/playground.py", title="Playground", icon=":material/play_circle:", default=True),
    st.Page("pages/hidden_states.py", title="Hidden states", icon=":material/grid_on:"),
    st.Page("pages/gates.py", title="Gates", icon=":material/tune:"),
    st.Page("pages/gradient_flow.py", title="Gradient flow", icon=":material/waterfall_chart:"),
    st.Page("pages/compare.py", title="Compare cells", icon=":material/compare_arrows:"),
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page("pages/share.py", title="Share & data", icon=":material/share:", url_path="share"),
]

state.session()
share.render_notices()
share.render_loaded_banner()
sidebar.render()
st.navigation(PAGES).run()
