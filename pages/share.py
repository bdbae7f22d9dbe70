"""Share & data: the link to this experiment, downloads, and uploads (a saved run, your CSV, your text)."""

import streamlit as st

from ui import share

st.title("Share & data")
st.caption("Hand out a link that reproduces this run, take the numbers home, or bring your own data.")
share.render_page()
