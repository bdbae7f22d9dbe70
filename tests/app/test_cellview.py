"""The cell opened up (Hidden states, Gates) and the instruments' notes (every chart page), through AppTest:
what the page shows equals rnnviz.equations / rnnviz.instruments on the session's own run."""

from __future__ import annotations

import numpy as np
from conftest import assert_no_exception, figure, open_app, session, values

from rnnviz import equations, instruments
from rnnviz.trainer import limit_threads

SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8", "probe_size": "2"}
limit_threads(1)


def small(**extra) -> dict[str, str]:
    return {**SMALL, **{k: str(v) for k, v in extra.items()}}


def latex(at) -> list[str]:
    """The equations st.latex drew (it wraps each body in $$ ... $$)."""
    return [e.body.removeprefix("$$\n").removesuffix("\n$$") for e in at.latex]


def walked(fig: dict) -> np.ndarray:
    """The walked norms of a backward-walk figure (its trace named exactly "walked")."""
    return values(next(t for t in fig["data"] if t.get("name") == "walked")["customdata"])


def run(at):
    at.run()
    assert_no_exception(at)
    return at


def open_cell(at, page: str):
    at.toggle(key=f"{page}.cell.open").set_value(True)
    return run(at)


def expected_lines(sess, t: int, unit: int, sample: int = 0) -> list[str]:
    x = sess.trainer.probe.x[sample:sample + 1]  # the page traces the probe sequence shown alone
    step = equations.open_cell(sess.trainer.model.rnn, x, t=t - 1, unit=unit - 1)
    assert step.mismatch <= 1e-12
    return equations.latex_lines(step)


def test_hidden_states_opens_the_cell_with_the_live_numbers_of_the_picked_unit():
    at = open_app(small(cell="lstm"), page="pages/hidden_states.py")
    at.button(key="ctl.step10").click()
    run(at)
    assert not at.latex  # closed until asked
    open_cell(at, "hidden")
    sess = session(at)
    assert latex(at) == expected_lines(sess, t=20, unit=1)  # defaults: the last step, unit 1
    at.number_input(key="hidden.cell.t").set_value(3)
    at.number_input(key="hidden.cell.unit").set_value(5)
    run(at)
    assert latex(at) == expected_lines(sess, t=3, unit=5)
    assert len(at.latex) == 6  # i f g o, c_t, h_t
    diagram = figure(at, "LSTM cell, unit 5 at t=3")
    assert diagram["layout"]["uirevision"] == "cell-diagram"
    caption = next(c.value for c in at.caption if c.value.startswith("Unit 5 at t=3 of probe sequence #1"))
    assert "after step 10's update" in caption and "training step 10 as recorded" in caption
    at.radio(key="hidden.sample").set_value(1)
    run(at)
    assert latex(at) == expected_lines(sess, t=3, unit=5, sample=1) != expected_lines(sess, t=3, unit=5)


def test_the_backward_walk_moves_one_timestep_per_click_with_the_recorded_norms():
    at = open_app(small(cell="rnn_tanh"), page="pages/hidden_states.py")
    open_cell(at, "hidden")
    g = session(at).history.record_at(0).grad_norms[0, 0]
    walk = figure(at, "walked back to t=20")
    np.testing.assert_array_equal(walked(walk), g[19:].astype(np.float64))
    for t in (19, 18):
        at.button(key="hidden.cell.back").click()
        run(at)
        walk = figure(at, f"walked back to t={t}")
        np.testing.assert_array_equal(walked(walk), g[t - 1:].astype(np.float64))
    at.button(key="hidden.cell.home").click()
    run(at)
    figure(at, "walked back to t=20")


def test_gates_page_opens_a_gru_cell_and_its_diagram():
    at = open_app(small(cell="gru"), page="pages/gates.py")
    open_cell(at, "gates")
    sess = session(at)
    assert latex(at) == expected_lines(sess, t=20, unit=1)
    assert [line.split(" = ")[0] for line in latex(at)] == ["r_{20}[1]", "z_{20}[1]", "n_{20}[1]", "h_{20}[1]"]
    figure(at, "GRU cell, unit 1 at t=20")


def test_a_loaded_run_has_no_weights_but_still_walks():
    at = open_app(small(cell="lstm"), page="pages/hidden_states.py")
    at.button(key="ctl.step1").click()
    run(at)
    sess = session(at)
    sess.load(sess.history, name="saved")
    open_cell(at, "hidden")
    assert not at.latex
    assert any("a saved run has none" in i.value for i in at.info)
    assert figure(at, "walked back to t=20")["layout"]["title"]["text"].endswith("(training step 1)")


def _markdown(at) -> str:
    """The page's markdown as read: md_escape's backslashes and word joiners (U+2060) taken out."""
    return "\n".join(m.value for m in at.markdown).replace("\\", "").replace("\u2060", "")


def test_instruments_on_gradient_flow_and_playground_are_the_runs_own_notes():
    at = open_app(small(cell="rnn_tanh", init="scaled", rho="3", clip="norm", clip_threshold="0.001"),
                  page="pages/gradient_flow.py")
    at.button(key="ctl.step10").click()
    run(at)
    sess = session(at)
    notes = instruments.notes("flow", instruments.Run(sess.history, sess.config, sess.trainer.task.baseline_loss,
                                                      10, 0, 0))
    assert any(n.startswith("σ_max(W_hh) = ") for n in notes)
    assert any(n.startswith("Clipping fired on 100% of the last 11 steps") for n in notes)
    text = _markdown(at)
    for n in notes:
        assert n.split(" (training step")[0] in text
    at.switch_page("pages/playground.py")
    run(at)
    assert "Clipping fired on 100% of the last 11 steps" in _markdown(at)


def test_instruments_on_hidden_states_name_the_units_that_are_off():
    at = open_app(small(cell="rnn_relu", init="scaled", rho="0.05"), page="pages/hidden_states.py")
    sess = session(at)
    notes = instruments.notes("hidden", instruments.Run(sess.history, sess.config, None, 0, 0, 0))
    assert len(notes) == 1 and " of the 16 units are 0 (the ReLU is off) on every timestep" in notes[0]
    assert notes[0] in _markdown(at)
