"""The app's frame: the page table, and a guard for Streamlit's legacy ``pages/`` mode.

Why the guard: a folder named ``pages/`` next to the entry script switches Streamlit into its
legacy multipage mode until the first run that calls ``st.navigation``. On a freshly started
server, a link straight to a page (``/gradient_flow?...``, e.g. a shared link) would then run
that page file alone: no page config, no sidebar, the legacy navigation menu. Every page calls
:func:`ensure_frame` first: in legacy mode it registers the real navigation (which ends legacy
mode for the whole server, as Streamlit documents) and reruns, so app.py frames the page.
"""

from __future__ import annotations

import streamlit as st

#: (file, title, material icon, url path); the first page is the default.
PAGE_TABLE = (
    ("pages/playground.py", "Playground", ":material/play_circle:", "playground"),
    ("pages/hidden_states.py", "Hidden states", ":material/grid_on:", "hidden_states"),
    ("pages/gates.py", "Gates", ":material/tune:", "gates"),
    ("pages/gradient_flow.py", "Gradient flow", ":material/waterfall_chart:", "gradient_flow"),
    ("pages/compare.py", "Compare cells", ":material/compare_arrows:", "compare"),
    ("pages/phase_diagram.py", "Phase diagram", ":material/blur_on:", "phase_diagram"),
    ("pages/learn.py", "Learn", ":material/school:", "learn"),
    ("pages/share.py", "Share & data", ":material/share:", "share"),
)


def pages() -> list:
    return [st.Page(path, title=title, icon=icon, url_path=url, default=i == 0)
            for i, (path, title, icon, url) in enumerate(PAGE_TABLE)]


def ensure_frame() -> None:
    """Make sure app.py frames this page (see the module docstring); a no-op in normal runs."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        st.navigation(pages(), position="hidden")  # ends legacy mode for this server
        st.rerun()


#: The presentation view's page style: no sidebar (the strip holds the controls), little padding above
#: the strip, so the key chart starts high enough to fit a 1280x720 projector.
PRESENT_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 3.75rem 1.5rem 1rem 1.5rem; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0.5rem; }
</style>
"""


def apply_view(present: bool) -> None:
    """Style the page for the presentation view (a no-op in the normal view)."""
    if present:
        st.html(PRESENT_CSS)
