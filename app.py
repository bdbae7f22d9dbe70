"""rnnviz entry point: `streamlit run app.py` (or `make run`).

Sets the page config, bounds torch's threads (many sessions share few cores), sets up the
session's run from the URL, draws the shared sidebar and navigates over the pages in pages/.
"""

import streamlit as st

from rnnviz.trainer import limit_threads
from ui import frame, share, sidebar, state

st.set_page_config(page_title="rnnviz: inside recurrent networks", page_icon="🔁", layout="wide")
limit_threads(1)


state.session()
share.render_notices()
share.render_loaded_banner()
sidebar.render()
st.navigation(frame.pages()).run()
