"""Share & data: the link to this experiment, downloads, and uploads (a saved run, your CSV, your text)."""


from ui import share, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Share & data",
               "Hand out a link that reproduces this run, take the numbers home, or bring your own data.")
share.render_page()
