"""The shared sidebar: preset picker and the config's knobs (built from ``rnnviz.config.FIELDS``).
Rendered by app.py on every page of the normal view; the presentation view's control strip
(``ui.controls.strip``) draws the preset and a page's main knobs with the same helpers.

The widgets are *controlled*: every run writes the live config's values into their ``cfg.<field>``
keys before drawing them, so what a knob shows is always the config that runs (and survives page
switches and reruns). A change goes through one callback that validates the whole config
(``ExperimentConfig(**values)``) and either switches the run to it (rebuilt at step 0, so the
effect shows at once; a playing run plays on) or leaves the config as it was and says why.
"""

from __future__ import annotations

import streamlit as st

from rnnviz.branches import BRANCH_KNOBS
from rnnviz.config import FIELDS, PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from ui import state
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
    if sess.loaded is None and sess.runs.current.parent is not None:  # a branch is shown: remake it
        try:
            sess.set_branch_config(config, keep_playing=True)
        except RnnvizError as err:
            st.session_state[ERROR_KEY] = str(err)
            return
        st.session_state.pop(ERROR_KEY, None)
        state.write_current_url()
        return
    try:
        state.apply_config(config, preset=_matching_preset(config), keep_playing=True)  # plays on mid-play
    except RnnvizError as err:  # e.g. the uploaded series is shorter than the new seq_len
        st.session_state[ERROR_KEY] = str(err)
        return
    st.session_state.pop(ERROR_KEY, None)


def _on_exact(name: str) -> None:
    """The number box beside a fine slider: its value becomes the knob's value."""
    st.session_state[_key(name)] = st.session_state[_key(name) + ".exact"]
    _on_knob()


def knob(name: str, config: ExperimentConfig, disabled: bool) -> None:
    """One knob, drawn as its ``Field`` says (kind, widget hint, stops); controlled by the running config.

    A slider with stops snaps to them (plus the running value); a slider too fine for a mouse
    (``Field.exact_input``) gets a number box beside it, so any allowed value can be typed.
    """
    f = FIELDS[name]
    key = _key(name)
    value = getattr(config, name)
    st.session_state[key] = value  # controlled: the knob shows the running config
    common = dict(key=key, help=f.help, on_change=_on_knob, disabled=disabled or not config.relevant(name))
    if f.kind == "choice":
        st.selectbox(f.label, f.choices, format_func=f.choice_label, **common)
    elif f.kind == "bool":
        st.toggle(f.label, **common)
    elif f.widget != "slider":
        if f.kind == "int":
            st.number_input(f.label, int(f.lo), int(f.hi), step=1, **common)
        else:
            st.number_input(f.label, float(f.lo), float(f.hi), step=None, format="%g", **common)
    elif not f.exact_input:
        cast = int if f.kind == "int" else float
        st.slider(f.label, cast(f.lo), cast(f.hi), step=f.step if f.kind == "float" else 1, **common)
    else:
        _fine_slider(f, value, common)


def _fine_slider(f, value, common: dict) -> None:
    """A slider (over the field's stops when it has them) with a number box beside it for exact values."""
    cast = int if f.kind == "int" else float
    slider, box = st.columns([3, 2], vertical_alignment="bottom")
    with slider:
        if f.stops:
            st.select_slider(f.label, sorted({*f.stops, value}), **common)
        else:
            st.slider(f.label, cast(f.lo), cast(f.hi), step=f.step if f.kind == "float" else 1, **common)
    exact = common["key"] + ".exact"
    st.session_state[exact] = value
    with box:
        st.number_input(f"{f.label} (exact)", cast(f.lo), cast(f.hi), step=f.step if f.kind == "float" else 1,
                        key=exact, on_change=_on_exact, args=(f.name,), disabled=common["disabled"],
                        label_visibility="collapsed", format="%g" if f.kind == "float" else "%d",
                        help=f"Type any value in {f.lo:g}..{f.hi:g}.")


def preset_picker() -> None:
    """The preset select box (hidden or locked by the instructor flag ``preset``)."""
    flags = state.flags()
    if "preset" in flags.hidden:
        return
    loaded = state.session().loaded is not None
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


def knobs(names) -> None:
    """The knobs ``names`` (those the instructor did not hide), read-only while a saved run is browsed."""
    sess, flags = state.session(), state.flags()
    loaded = sess.loaded is not None
    branch = not loaded and sess.runs.current.parent is not None  # only branch knobs can change on a branch
    for name in names:
        if name not in flags.hidden:
            knob(name, sess.config, disabled=loaded or name in flags.locked or
                 (branch and name not in BRANCH_KNOBS))


def config_error() -> None:
    if ERROR_KEY in st.session_state:
        st.error(st.session_state[ERROR_KEY], icon=":material/error:")


def render_config() -> None:
    """Preset picker and knobs (the config of a loaded run while browsing one: then read-only)."""
    preset_picker()
    config_error()
    if state.session().loaded is not None:
        st.caption("The settings of the loaded run (read-only).")
    elif state.session().runs.current.parent is not None:
        st.caption("A branch is shown: its lr, clipping, optimizer, batch size and run knobs can change (it is "
                   "made again from where it branched); the rest needs the original run.")
    knobs(MAIN_KNOBS)
    with st.expander("More settings"):
        knobs(n for n in FIELDS if n not in MAIN_KNOBS)


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


def render() -> None:
    """The sidebar of the normal view (the presentation view has none: its strip holds the controls).

    The run buttons are not here: they live in the one control strip at the top of every page
    (:func:`ui.controls.strip`), so Compare and the other pages share one play control.
    """
    if state.presenting():
        return
    with st.sidebar:
        sess = state.session()
        if sess.loaded is not None:
            render_loaded(sess)
            st.divider()
        render_config()
