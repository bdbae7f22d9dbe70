"""rnnviz entry point: `streamlit run app.py` (or `make run`).

Sets the page config, bounds torch's threads (many sessions share few cores), sets up the
session's run from the URL, draws the shared sidebar (normal view) and the one control strip
above every page, keeps the full link in the address bar, and runs the chosen page.
"""

import streamlit as st

from rnnviz.trainer import limit_threads
from ui import controls, frame, rooms, share, sidebar, state

st.set_page_config(page_title="rnnviz: inside recurrent networks", page_icon="🔁", layout="wide")
limit_threads(1)


state.session()
page = st.navigation(frame.pages(), position="top" if state.presenting() else "sidebar")
frame.apply_view(state.presenting())
rooms.sync(page.url_path or frame.PAGE_TABLE[0][3])  # a room's teacher sets the page; a student follows it
state.write_current_url()  # page links drop the query: the address bar always holds the full link
share.render_notices()
rooms.banner()
share.render_loaded_banner()
sidebar.render()
controls.strip(page.url_path or frame.PAGE_TABLE[0][3])  # the default page's path is ''
page.run()
