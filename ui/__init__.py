"""Streamlit glue shared by app.py and the pages: session state, sidebar, live loop, widgets.

All maths lives in the pure package ``rnnviz``; this package only wires it to widgets.
"""
