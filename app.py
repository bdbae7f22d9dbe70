"""rnnviz entry point: `streamlit run app.py` (or `make run`)."""

import streamlit as st

st.set_page_config(page_title="rnnviz", page_icon="🔁", layout="wide")
st.title("rnnviz")
st.info("Under construction: the playground lands with the app issue.")
