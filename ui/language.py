"""The char-LM made visible (Playground, Hidden states): generated text with a temperature knob, the
probe text coloured by a unit or a gate, and the units that follow a character class.

Glue only: sampling, classes and ranking are in rnnviz/language.py, the HTML in rnnviz/plots/text.py
(every character escaped there). Text is sampled from the live weights under the session's lock (the
page holds it while drawing), with its own generator: training is untouched.
"""

from __future__ import annotations

import time

import streamlit as st

from rnnviz import language, plots
from rnnviz.errors import RnnvizError
from rnnviz.plots.style import GATE_TITLES

_CACHE = "lang.sample"  # session_state: ((trainer id, temperature, seed), text, step, monotonic time)
#: While the run plays, the text is re-sampled at most this often (seconds).
RESAMPLE_SECONDS = 2.0
_RANKING = "lang.ranking"  # session_state: ((history id, step, class, layer, direction), UnitRanking)
SOURCE_WORDS = {"h": "hidden state h", "c": "cell state c"}


def _source_label(source: str) -> str:
    return SOURCE_WORDS.get(source) or GATE_TITLES.get(source, source)


def _sample(sess, temperature: float) -> tuple[str, str, int]:
    """(prompt, generated, step): the first probe sequence, then SAMPLE_CHARS characters written by the
    weights after training step ``step``. Sampled once per step; while the run plays, at most every
    ``RESAMPLE_SECONDS`` (200 steps of the model one character at a time cost about as much as a few
    training steps), so the text lags the newest step by up to that long and says which step wrote it."""
    with sess.weights() as trainer:  # the live weights (and their step), no step taken meanwhile
        prompt = language.probe_texts(trainer.task, trainer.probe.x[:1].numpy())[0]
        key = (id(trainer), float(temperature), sess.config.seed)
        step = trainer.step_count - 1
        cached = st.session_state.get(_CACHE)
        fresh = cached is not None and cached[0] == key and (
            cached[2] == step or (sess.playing and time.monotonic() - cached[3] < RESAMPLE_SECONDS))
        if not fresh:
            text = language.sample_text(trainer.model, trainer.task, prompt=prompt, temperature=temperature,
                                        seed=sess.config.seed)
            cached = (key, text, step, time.monotonic())
            st.session_state[_CACHE] = cached
    return prompt, cached[1], cached[2]


def text_sample(sess) -> None:
    """Generated text from the current weights, re-sampled (same seed) whenever the weights change."""
    with st.expander("Generated text: what the network writes now", expanded=True):
        temperature = st.select_slider(
            "Temperature", language.TEMPERATURES, value=0.5, key="lang.temperature",
            format_func=lambda t: "0 (greedy)" if t == 0 else f"{t:g}",
            help="Each next character is drawn from softmax(logits / T). T → 0 always takes the most likely "
                 "character; T = 1 is the network's own distribution; T > 1 is flatter, closer to random.")
        if sess.loaded is not None or not hasattr(sess.trainer.task, "decode"):
            st.caption("A saved run has no weights, so it cannot write new text; go back to live training.")
            return
        try:
            prompt, text, step = _sample(sess, temperature)
        except RnnvizError as e:  # e.g. the weights overflowed: no distribution to sample from
            st.warning(f"No text to show: {e}", icon=":material/warning:")
            return
        st.html(plots.generated_text_html(prompt, text))
        st.caption(f"Written by the weights after training step {step}: the grey text is the start (probe "
                   f"sequence #1), "
                   f"then {len(text)} characters drawn at temperature {temperature:g} with seed {sess.config.seed} "
                   "(the same seed each time, so the text changes only when the weights do).")


def _ranking(hist, rec, name: str, view, hidden, texts) -> language.UnitRanking:
    """language.rank_units, kept per (run, step, class, layer, direction): redraws while playing reuse it."""
    key = (hist.key, rec.step, name, view.layer, view.direction)
    cached = st.session_state.get(_RANKING)
    if not cached or cached[0] != key:
        cached = (key, language.rank_units(hidden, language.class_values(name, texts)))
        st.session_state[_RANKING] = cached
    return cached[1]


def _best_unit(unit_key: str, unit: int) -> None:
    st.session_state[unit_key] = unit


def hidden_views(sess, view) -> None:
    """On Hidden states, for the char-LM: the probe text coloured by a unit, and the unit finder."""
    if view.config.task != "charlm":
        return
    task = sess.trainer.task
    if not hasattr(task, "decode"):
        st.caption("The run file does not store the text's characters, so the text views are not shown.")
        return
    texts = language.probe_texts(task, view.hist.probe["x"])
    find, colour = st.tabs(["Find units that follow…", "Text coloured by a unit"])
    with find:
        _unit_finder(view, texts)
    with colour:
        _coloured_text(sess, view, texts)


_UNIT_KEY = "lang.unit"


def _unit_finder(view, texts) -> None:
    rec = view.rec
    name = st.selectbox("Character class", list(language.CHAR_CLASSES), key="lang.class",
                        format_func=lambda n: language.CHAR_CLASSES[n].label)
    hidden = rec.hidden[view.layer, view.direction]  # (P, L, H)
    try:
        ranking = _ranking(view.hist, rec, name, view, hidden, texts)
    except RnnvizError as e:  # a diverged run's states are not finite
        st.warning(f"No ranking: {e}", icon=":material/warning:")
        return
    if not ranking.units:
        st.caption("The probe text has no variation in this class (none or all of its characters belong "
                   "to it), so no unit can follow it here.")
        return
    st.dataframe({"unit": list(ranking.units), "correlation r": [round(r, 3) for r in ranking.r]},
                 hide_index=True)
    st.caption(f"Pearson r of h_t with the class over all {hidden.shape[0] * hidden.shape[1]} probe characters "
               f"(training step {rec.step}). Chance level: with the class shifted in time the best unit "
               f"still reaches |r| = {ranking.chance:.2f}; only units well above that follow the class.")
    st.button(f"Colour the text by unit {ranking.units[0]}", key="lang.best", on_click=_best_unit,
              args=(_UNIT_KEY, ranking.units[0]))


def _coloured_text(sess, view, texts) -> None:
    rec = view.rec
    H = rec.hidden.shape[-1]
    left, right = st.columns(2)
    source = left.selectbox("Colour by", language.colour_sources(rec), key="lang.source", format_func=_source_label)
    if st.session_state.get(_UNIT_KEY, 1) > H:
        st.session_state[_UNIT_KEY] = 1
    unit = int(right.number_input(f"Unit (1..{H})", 1, H, key=_UNIT_KEY))
    bounded = not str(sess.config.cell).endswith("relu")
    stretch = st.toggle("Stretch the colours to this unit's range", value=True, key="lang.stretch",
                        help="On: the colours span this unit's own values on this sequence, so small swings "
                             "show (the key gives the range). Off: fixed scales, h in −1…1, gates 0…1.")
    shade = language.shading(rec, source, layer=view.layer, direction=view.direction, sample=view.sample,
                             unit=unit, bounded=bounded, stretch=stretch)
    st.html(plots.colour_key_html(lo=shade.lo, hi=shade.hi, diverging=shade.diverging,
                                  label=f"{_source_label(source)}, unit {unit}"))
    st.html(plots.coloured_text_html(texts[view.sample], shade.values, lo=shade.lo, hi=shade.hi,
                                     diverging=shade.diverging, label=shade.label))
    st.caption(f"Probe sequence #{view.sample + 1} at training step {rec.step}; hover a character for t and "
               "the value.")


def playground_views(sess) -> None:
    """Below the Playground's charts: generated text (char-LM) or the forecast view (sine, csv)."""
    from ui.forecast import forecast_view

    if sess.config.task == "charlm":
        text_sample(sess)
    forecast_view(sess)
