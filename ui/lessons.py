"""The Learn page's parts: one guided lesson at a time (set up, predict, run, reveal, explain) and challenges.

The lesson's content is data (``rnnviz.lessons``: the table, the reveal rules, the explanations); this module
draws it. The prediction is kept in session state (``learn.<lesson>.predict``). Run plays the lesson's steps
through the session (``PlaySession.reset`` then ``step``, each chunk inside a training slot, every step
recorded) with a progress bar. Challenges (``rnnviz.challenges``) come from the link; a teacher builds one
with the form at the bottom, which gives the link.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from rnnviz import cells, challenges, plots
from rnnviz.challenges import CHALLENGES, QUANTITIES, Target
from rnnviz.config import FIELDS, PRESETS
from rnnviz.errors import RnnvizError
from rnnviz.lessons import GUIDED, WIDGETS, grade, lesson_by_key, widget_figure
from ui import share, sidebar, state, widgets
from ui.live import fmt
from ui.text import md_escape

PICKER_KEY = "learn.lesson"
#: Steps per chunk of the Run progress bar (each chunk is one PlaySession.step, in a training slot).
RUN_CHUNKS = 20
LEARN_PATH = "learn"


def pick():
    """The lesson picker: one lesson on screen at a time, numbered in the table's order."""
    index = st.selectbox("Lesson", range(len(GUIDED)), key=PICKER_KEY,
                         format_func=lambda i: f"{i + 1}. {GUIDED[i].title}  ({questions_label(GUIDED[i])})")
    return GUIDED[int(index)]


def questions_label(lesson) -> str:
    """ "question 5" or "questions 1, 6, 7": the learner questions (docs/QUESTIONS.md) the lesson answers."""
    qs = lesson.questions
    return f"question{'s' if len(qs) > 1 else ''} {', '.join(map(str, qs))}"


def _set_up(lesson) -> None:
    if lesson.preset:
        sidebar.select_preset(lesson.preset)
        return
    blocked = state.flags().blocked(state.session().live_config, lesson.config)
    if blocked:
        st.session_state[sidebar.ERROR_KEY] = (f"this lesson would change {', '.join(blocked)}, which the "
                                               f"instructor locked; kept the current settings")
        return
    try:
        state.apply_config(lesson.config)
        st.session_state.pop(sidebar.ERROR_KEY, None)
    except RnnvizError as err:
        st.session_state[sidebar.ERROR_KEY] = str(err)


def _set_up_line(lesson, sess) -> bool:
    what = f"the preset “{PRESETS[lesson.preset].title}”" if lesson.preset else "a small config it defines"
    ready = sess.loaded is None and sess.live_config == lesson.config
    st.markdown(f"**① Set up.** The lesson uses {what}.")
    if ready:
        st.caption("✓ The live run uses the lesson's settings.")
    else:
        why = _set_up_refused(lesson, sess)
        st.button("Set up this lesson", key=f"learn.{lesson.key}.setup", on_click=_set_up, args=(lesson,),
                  type="primary", disabled=bool(why))
        if why:
            st.caption(why)
    return ready


def _set_up_refused(lesson, sess) -> str:
    """Why the instructor's flags refuse this lesson's set-up ("" when they allow it)."""
    flags = state.flags()
    if lesson.preset and not flags.usable("preset"):
        return "The instructor turned presets off for this session."
    blocked = flags.blocked(sess.live_config, lesson.config)
    if blocked:
        return f"It would change {', '.join(blocked)}, which the instructor locked."
    return ""


def _predict(lesson) -> int | None:
    st.markdown(f"**② Predict.** {lesson.predict}")
    choice = st.radio("Your prediction", range(len(lesson.choices)), index=None, key=f"learn.{lesson.key}.predict",
                      format_func=lambda i: lesson.choices[i], label_visibility="collapsed")
    return None if choice is None else int(choice)


def _played(lesson, sess) -> bool:
    """The run holds the lesson's steps (or stopped before them: diverged)."""
    return sess.trainer.step_count >= lesson.steps or sess.trainer.state == "diverged"


def _run(lesson, sess, ready: bool, predicted: bool) -> None:
    st.markdown(f"**③ Run.** Play steps 0–{lesson.steps - 1} of the run.")
    flags = state.flags()
    locked = "play" in flags.locked or "play" in flags.hidden or "reset" in flags.locked
    label = "Run again from step 0" if _played(lesson, sess) else f"Run {lesson.steps} steps"
    if not st.button(label, key=f"learn.{lesson.key}.run", disabled=not (ready and predicted) or locked,
                     help="The run starts again from step 0 of the lesson's settings (predict first)."):
        if not predicted:
            st.caption("Predict first, then run.")
        return
    bar = st.progress(0.0, text="Starting from step 0…")
    try:
        sess.pause()
        sess.reset()
        chunk = max(1, lesson.steps // RUN_CHUNKS)
        while sess.trainer.step_count < lesson.steps and sess.trainer.state not in ("diverged", "finished"):
            sess.step(min(chunk, lesson.steps - sess.trainer.step_count))
            bar.progress(sess.trainer.step_count / lesson.steps, text=f"Step {sess.current_step} of "
                                                                       f"{lesson.steps - 1}")
    except RnnvizError as err:
        st.error(str(err), icon=":material/error:")
        return
    st.rerun(scope="app")  # the strip's step counter and every chart show the new run


def _reveal(lesson, sess, prediction: int | None) -> bool:
    st.markdown("**④ Reveal.**")
    if prediction is None or not _played(lesson, sess):
        st.caption("The measured outcome appears here once you have predicted and run.")
        return False
    outcome, right = grade(lesson, sess.history, prediction)
    measured = f"Your prediction: **{md_escape(lesson.choices[prediction])}**. {outcome.measured}"
    if right is None:
        st.info(measured + " This run cannot answer the question (its settings differ from the lesson's).")
    elif right:
        st.success(measured + f" ✓ The run shows: {lesson.choices[outcome.choice]}.", icon=":material/check_circle:")
    else:
        st.warning(measured + f" ✗ The run shows: **{lesson.choices[outcome.choice]}**.", icon=":material/cancel:")
    if lesson.figure_step is not None:
        st.caption(f"Measured at training step {lesson.figure_step}, the untrained network; the figure below "
                   f"shows that step.")
    else:
        st.caption(f"The figure below shows every step played, 0–{int(sess.history.scalars['step'][-1])}.")
    if sess.config != lesson.config:
        st.caption("Measured on your run, whose settings differ from the lesson's.")
    return True


def _explain(lesson, sess, revealed: bool) -> None:
    st.markdown("**⑤ Explain.**")
    if revealed:
        st.markdown(lesson.explain(sess.history))
    else:
        st.caption("The explanation, with this run's numbers, follows the reveal.")


def lesson_view(lesson, sess) -> None:
    """The five steps (left: set up, predict, run; right: reveal, explain), then the live figure."""
    left, right = st.columns(2, gap="medium")
    with left:
        ready = _set_up_line(lesson, sess)
        prediction = _predict(lesson)
        _run(lesson, sess, ready, prediction is not None)
    with right:
        revealed = _reveal(lesson, sess, prediction)
        _explain(lesson, sess, revealed)
    if revealed:
        figure(lesson.figure, sess, key=f"learn.{lesson.key}.live", step=lesson.figure_step)
    else:  # the run's figure would give the answer away before the prediction
        st.caption(FIGURE_LATER)


#: Shown where the lesson's figure will be: it answers the question, so it waits for the reveal.
FIGURE_LATER = "The run's figure appears with the reveal: it would give the answer away."


def figure(kind: str, sess, key: str, step: int | None = None) -> None:
    """The lesson's live figure of the current run (``rnnviz.lessons.FIGURES``).

    A one-step figure shows training ``step`` (the step the reveal reads), else the last recorded step."""
    hist = sess.history
    if not len(hist):
        return
    scal, task, config = hist.scalars, sess.trainer.task, sess.config
    if kind == "loss":
        fig = plots.loss_curve(scal["step"], scal["loss"], scal["metric"], task.metric_name, task.baseline_loss,
                               hist.status.get("diverged_step"))
    elif kind == "grad_norm":
        fig = plots.grad_norm_curve(scal["step"], scal["grad_norm"], scal["grad_norm_clipped"], scal["clipped"],
                                    config.clip_threshold if config.clip == "norm" else None)
    elif kind in ("hidden", "gates"):
        rec = hist.record_at(int(scal["step"][-1]) if step is None else step, full=True)
        if kind == "hidden":
            bounded = cells.get(config.cell).nonlinearity == "tanh"
            fig = plots.hidden_heatmap(rec.hidden[0, 0, 0].astype("float32"), inputs=hist.probe["x"][0],
                                       title=f"Hidden state h_t (training step {rec.step})", bounded=bounded,
                                       input_names=task.input_names, symbols=task.symbols)
        else:
            fig = plots.gate_heatmaps({g: v[0, 0, 0].astype("float32") for g, v in rec.gates.items()}, config.cell)
            _title_step(fig, rec.step)
    else:
        rec = hist.record_at(int(scal["step"][-1]) if step is None else step)
        if kind == "cell_vs_hidden" and rec.cell_grad_norms is not None:
            fig = plots.cell_vs_hidden_flow(rec.grad_norms[0, 0], rec.cell_grad_norms[0, 0])
            _title_step(fig, rec.step)
        else:
            fig = plots.gradient_flow(rec.grad_norms, step=rec.step)
    widgets.chart(fig, key=key)


def _title_step(fig, step: int) -> None:
    """Name the training step in a one-step figure's title (builders that do not take a step)."""
    title = fig.layout.title.text or ""
    head, sep, sub = title.partition("<br>")
    fig.update_layout(title_text=f"{head} (training step {step}){sep}{sub}")


def extras(lesson) -> None:
    """The lesson's widget (if any) and its readings."""
    if lesson.widget:
        w = WIDGETS[lesson.widget]
        with st.expander(f"Try it: {w.caption.split(':')[0].split('.')[0]}"):
            values = {}
            cols = st.columns(len(w.controls))
            for col, c in zip(cols, w.controls, strict=True):
                integer = float(c.step).is_integer() and float(c.min).is_integer()
                cast = int if integer else float
                values[c.name] = col.slider(c.label, cast(c.min), cast(c.max), cast(c.default), cast(c.step),
                                            key=f"learn.{lesson.key}.{c.name}")
            widgets.chart(widget_figure(lesson.widget, **values), key=f"learn.{lesson.key}.fig")
            st.caption(w.caption)
    for key in lesson.reading:
        text = lesson_by_key(key)
        with st.expander(f"Read more: {text.title}"):
            st.markdown(text.body_markdown)


# ------------------------------------------------------------------------------------------ challenges
def _baseline(sess) -> float | None:
    return getattr(sess.trainer.task, "baseline_loss", None)


def challenge_status(sess) -> None:
    """The linked challenge, checked on every recorded step of the live run: "solved at step N"."""
    ch = state.challenge()
    if ch is None:
        return
    q = QUANTITIES[ch.target.quantity]
    p = challenges.progress(ch, sess.history, _baseline(sess))
    head = f"**Challenge: {md_escape(ch.title)}.** {md_escape(ch.target.words().capitalize())} {ch.within}."
    if ch.key:
        head += " You may change: " + ", ".join(FIELDS[n].label for n in ch.change) + "."
    if p.within:
        st.success(f"{head} **Solved at step {p.solved_step}** ({q.label} = {fmt(p.latest)} at step "
                   f"{p.latest_step}).", icon=":material/emoji_events:")
    else:
        if p.latest_step is None:
            where = f"no value yet ({q.label} needs {q.needs})" if q.needs else "no value yet"
        else:
            where = f"{q.label} = {fmt(p.latest)} at step {p.latest_step}"
            if p.solved_step is not None:
                where += f" (it held at step {p.solved_step}, too late: the target is {ch.within})"
        st.info(f"{head} Not solved yet: {where}.", icon=":material/flag:")
    if ch.hints:
        with st.expander("Hints"):
            st.markdown("\n".join(f"- {md_escape(h, limit=challenges.MAX_TEXT)}" for h in ch.hints))


def challenge_list() -> None:
    """The shipped challenges, each a link (the challenge travels in the URL)."""
    st.subheader("Challenges")
    st.caption("Each opens in a new session from its link: the target, the knobs you may change and the hints "
               "are in the link. The app checks the target on every recorded step.")
    for ch in CHALLENGES.values():
        knobs = ", ".join(FIELDS[n].label for n in ch.change)
        st.markdown(f"[**{ch.title}**]({_link(ch.to_params())}) · {md_escape(ch.target.words())} {ch.within} · "
                    f"you may change: {knobs}")


def _link(params: dict[str, str]) -> str:
    """The Learn page's address with these parameters."""
    return share.app_url() + LEARN_PATH + (f"?{urlencode(params, safe=',')}" if params else "")


def challenge_builder() -> None:
    """A teacher's form: a target on a recorded quantity, steps, a hint and the knobs to lock or hide -> link."""
    with st.expander("Build a challenge (for teachers): a target → a link"):
        cols = st.columns([3, 1, 2, 2])
        quantity = cols[0].selectbox("Quantity", list(QUANTITIES), key="learn.build.quantity",
                                     format_func=lambda k: QUANTITIES[k].label)
        op = cols[1].selectbox("Is", list(challenges.OPS), key="learn.build.op")
        value = cols[2].number_input("Target value", value=1e-3, format="%g", key="learn.build.value")
        steps = cols[3].number_input("Within steps", 1, challenges.MAX_STEPS, 100, key="learn.build.steps")
        st.caption(QUANTITIES[quantity].meaning)
        hint = st.text_input("Hint (optional)", max_chars=challenges.MAX_TEXT, key="learn.build.hint")
        controls = list(state.InstructorFlags.CONTROLS)
        cols = st.columns(2)
        lock = cols[0].multiselect("Lock", controls, key="learn.build.lock")
        hide = cols[1].multiselect("Hide", controls, key="learn.build.hide")
        try:
            params = challenges.custom_params(Target(quantity, op, float(value)), int(steps), hint)
        except RnnvizError as err:
            st.error(str(err), icon=":material/error:")
            return
        sess = state.session()
        base = {k: v for k, v in state.url_params(sess.live_config, state.preset_name()).items()
                if k not in (*state.InstructorFlags.PARAMS, *challenges.PARAMS)}
        base.update(params)
        if lock:
            base["lock"] = ",".join(lock)
        if hide:
            base["hide"] = ",".join(hide)
        st.caption("The link starts from the current settings.")
        st.code(_link(base), language=None, wrap_lines=True)
