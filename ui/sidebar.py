"""The shared sidebar: preset picker, the config's knobs (built from ``rnnviz.config.FIELDS``)
and the play / pause / step / reset controls. Rendered by app.py on every page.

The widgets are *controlled*: every run writes the live config's values into their ``cfg.<field>``
keys before drawing them, so what a knob shows is always the config that runs (and survives page
switches and reruns). A change goes through one callback that validates the whole config
(``ExperimentConfig(**values)``) and either switches the run to it (rebuilt at step 0, so the
effect shows at once) or leaves the config as it was and says why.
"""

from __future__ import annotations

import streamlit as st

from rnnviz.config import FIELDS, PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from ui import controls, state
from ui.text import md_escape

CUSTOM = "custom"
PRESET_WIDGET = "cfg.preset"
ERROR_KEY = "cfg.error"
#: Knobs shown at the top of the sidebar (``Field.main`` > 0, in that order); the rest sit in "More settings".
MAIN_KNOBS = tuple(sorted((n for n, f in FIELDS.items() if f.main), key=lambda n: FIELDS[n].main))


def _key(name: str) -> str:
    return f"cfg.{name}"


def _matching_preset(config: ExperimentConfig) -> str | None:
    return next((name for name, p in PRESETS.items() if p.config == config), None)


def _on_preset() -> None:
    name = st.session_state[PRESET_WIDGET]
    if name != CUSTOM:
        select_preset(name)


def presets_allowed() -> list[str]:
    """Presets that leave every locked field as it is (instructor mode), in table order."""
    flags, config = state.flags(), state.session().live_config
    return [n for n, p in PRESETS.items() if not flags.blocked(config, p.config)]


def select_preset(name: str) -> bool:
    """Switch to a preset: its config, its knobs, a fresh run at step 0, and the link.

    Refused (with the reason shown in the sidebar) when it would change a locked field.
    """
    config = PRESETS[name].config
    blocked = state.flags().blocked(state.session().live_config, config)
    if blocked:
        st.session_state[ERROR_KEY] = (f"preset {name!r} would change {', '.join(blocked)}, which the "
                                       f"instructor locked; kept the current settings")
        return False
    st.session_state.pop(ERROR_KEY, None)
    try:
        state.apply_config(config, preset=name)
    except RnnvizError as err:
        st.session_state[ERROR_KEY] = str(err)
        return False
    return True


def _on_knob() -> None:
    sess = state.session()
    values = {n: st.session_state.get(_key(n), getattr(sess.config, n)) for n in FIELDS}
    try:
        config = ExperimentConfig(**values)
    except RnnvizError as err:
        st.session_state[ERROR_KEY] = str(err)  # the config stays; the next run redraws the knob from it
        return
    try:
        state.apply_config(config, preset=_matching_preset(config))
    except RnnvizError as err:  # e.g. the uploaded series is shorter than the new seq_len
        st.session_state[ERROR_KEY] = str(err)
        return
    st.session_state.pop(ERROR_KEY, None)


def _knob(name: str, config: ExperimentConfig, disabled: bool) -> None:
    f = FIELDS[name]
    key = _key(name)
    st.session_state[key] = getattr(config, name)  # controlled: the knob shows the running config
    common = dict(key=key, help=f.help, on_change=_on_knob,
                  disabled=disabled or not config.relevant(name))
    if f.kind == "choice":
        st.selectbox(f.label, f.choices, format_func=f.choice_label, **common)
    elif f.kind == "bool":
        st.toggle(f.label, **common)
    elif f.kind == "int":
        widget = st.slider if f.widget == "slider" else st.number_input
        widget(f.label, int(f.lo), int(f.hi), step=1, **common)
    elif f.widget == "slider":
        st.slider(f.label, float(f.lo), float(f.hi), step=f.step, **common)
    else:
        st.number_input(f.label, float(f.lo), float(f.hi), step=None, format="%g", **common)


def render_config() -> None:
    """Preset picker and knobs."""
    sess = state.session()
    flags = state.flags()
    config = sess.config  # a loaded run's config while browsing one (its knobs are then read-only)
    loaded = sess.loaded is not None
    if "preset" not in flags.hidden:
        current = None if loaded else state.preset_name()
        st.session_state[PRESET_WIDGET] = current or CUSTOM
        options = [CUSTOM, *presets_allowed()]
        if current and current not in options:
            options.append(current)
        st.selectbox(
            "Preset", options, key=PRESET_WIDGET, on_change=_on_preset,
            format_func=lambda n: "— your own settings —" if n == CUSTOM else PRESETS[n].title,
            disabled="preset" in flags.locked,
            help="A seeded experiment that shows one effect every time.",
        )
    if ERROR_KEY in st.session_state:
        st.error(st.session_state[ERROR_KEY], icon=":material/error:")
    if loaded:
        st.caption("The settings of the loaded run (read-only).")
    for name in MAIN_KNOBS:
        if name not in flags.hidden:
            _knob(name, config, disabled=loaded or name in flags.locked)
    with st.expander("More settings"):
        for name in FIELDS:
            if name not in MAIN_KNOBS and name not in flags.hidden:
                _knob(name, config, disabled=loaded or name in flags.locked)


def _unload() -> None:
    state.session().unload()


def _train_loaded() -> None:
    """Train the loaded run's settings live (same seed: the same numbers, for synthetic tasks)."""
    sess = state.session()
    config = sess.config
    blocked = state.flags().blocked(sess.live_config, config)
    if blocked:
        st.session_state[ERROR_KEY] = (f"the loaded run's settings would change {', '.join(blocked)}, "
                                       f"which the instructor locked")
        return
    try:
        state.apply_config(config, preset=_matching_preset(config), data=None)
    except RnnvizError as err:
        st.session_state[ERROR_KEY] = str(err)


def render_loaded(sess) -> None:
    """In place of the training controls while a saved run is browsed."""
    run = sess.loaded
    st.info(f"**Browsing a saved run** ({md_escape(run.name)}). Play, step and reset are off: a file holds "
            f"the recording, not the weights.", icon=":material/folder_open:")
    st.button("← Back to live training", key="ctl.unload", on_click=_unload, type="primary", width="stretch")
    st.button("Train these settings live", key="ctl.train_loaded", on_click=_train_loaded, width="stretch",
              help="A fresh run of the loaded run's config (same seed; on your own data only if you "
                   "upload it again).")


def render_controls() -> None:
    """Play / pause, step x1, step x10, reset (``play`` locks or hides the first three together)."""
    sess = state.session()
    if sess.loaded is not None:
        render_loaded(sess)
        return
    controls.live_buttons(sess)


def render() -> None:
    with st.sidebar:
        render_controls()
        st.divider()
        render_config()
