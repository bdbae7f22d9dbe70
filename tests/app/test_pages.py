"""Every page through AppTest: controls pressed as a user would, figures checked against the backend.

Small configs keep runs fast; each assertion compares what the page draws with the numbers the
backend recorded (or a fresh headless run of the same config), not just that something rendered.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import PAGES, assert_no_exception, figure, figures, open_app, session, trace_named, values

from rnnviz import analysis, compare
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.flow import read_flow
from rnnviz.trainer import Trainer, limit_threads

SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}
limit_threads(1)


def small(**extra) -> dict[str, str]:
    return {**SMALL, **{k: str(v) for k, v in extra.items()}}


def click(at, key: str):
    at.button(key=key).click().run()
    assert_no_exception(at)
    return at


# ------------------------------------------------------------------------------------------- Playground
def test_open_shows_step_zero_of_the_linked_config():
    at = open_app(small(cell="lstm"))
    sess = session(at)
    assert sess.config == ExperimentConfig(cell="lstm", seq_len=20, hidden_size=16, batch_size=8)
    assert sess.current_step == 0 and len(sess.history) == 1
    assert at.metric[0].label == "Step" and at.metric[0].value == "0"
    flow = figure(at, "Gradient flowing back")
    rec = sess.history.record_at(0)
    np.testing.assert_allclose(values(flow["data"][0]["y"]), rec.grad_norms[0, 0], rtol=1e-6)


def test_step_buttons_train_and_loss_curve_shows_the_recorded_losses():
    at = open_app(small())
    click(at, "ctl.step10")
    sess = session(at)
    assert sess.current_step == 10
    assert at.metric[0].value == "10"
    loss_fig = figure(at, "Training loss")
    np.testing.assert_allclose(values(trace_named(loss_fig, "loss")["y"]), sess.history.scalars["loss"], rtol=1e-6)
    np.testing.assert_array_equal(values(trace_named(loss_fig, "loss")["x"]), np.arange(11))
    baseline = trace_named(loss_fig, "chance baseline")
    assert values(baseline["y"])[0] == pytest.approx(sess.trainer.task.baseline_loss)
    click(at, "ctl.step1")
    assert session(at).current_step == 11


def test_recorded_numbers_equal_a_headless_run_of_the_same_config():
    at = open_app(small(cell="gru", seed=7))
    click(at, "ctl.step10")
    sess = session(at)
    alone = Trainer(sess.config)
    alone.step(11)
    np.testing.assert_array_equal(sess.history.scalars["loss"], alone.history.scalars["loss"])
    np.testing.assert_array_equal(sess.history.record_at(10).grad_norms, alone.history.record_at(10).grad_norms)


def test_reset_returns_to_step_zero_with_the_same_numbers():
    at = open_app(small())
    first = session(at).history.scalars["loss"][0]
    click(at, "ctl.step10")
    click(at, "ctl.reset")
    sess = session(at)
    assert sess.current_step == 0 and len(sess.history) == 1
    assert sess.history.scalars["loss"][0] == first


def test_play_trains_on_each_tick_and_pause_stops():
    at = open_app(small())
    click(at, "ctl.play")
    sess = session(at)
    assert sess.playing
    before = sess.current_step
    at.run()  # one more tick of the live fragment
    assert_no_exception(at)
    assert session(at).current_step > before
    click(at, "ctl.play")  # the same button pauses
    assert not session(at).playing
    paused_at = session(at).current_step
    at.run()
    assert session(at).current_step == paused_at


def test_a_run_that_stopped_behind_the_strip_shows_play_not_a_disabled_pause():
    """The load test's 20 browsers found a page whose Pause stayed disabled: its run finished in a tick of
    another script run while the strip was drawn, so the strip read "playing" and "finished" at once."""
    from streamlit.testing.v1 import AppTest

    def strip():
        from ui.controls import run_buttons

        run_buttons("t", playing=True, stopped=True, on_play=lambda play: None, on_step=lambda n: None,
                    on_reset=lambda: None)

    at = AppTest.from_function(strip).run()
    assert_no_exception(at)
    play = at.button(key="t.play")
    assert play.label == "▶ Play" and play.disabled  # finished: nothing to pause, nothing to play


def test_a_knob_change_rebuilds_the_run_at_step_zero_and_updates_the_link():
    at = open_app(small())
    click(at, "ctl.step10")
    at.sidebar.selectbox(key="cfg.cell").select("lstm").run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.config.cell == "lstm" and sess.current_step == 0
    assert at.query_params.get("cell") in ("lstm", ["lstm"])


def test_picking_a_preset_loads_its_config_and_link():
    at = open_app()
    at.sidebar.selectbox(key="cfg.preset").select("vanishing-tanh").run()
    assert_no_exception(at)
    assert session(at).config == PRESETS["vanishing-tanh"].config
    assert at.query_params.get("preset") in ("vanishing-tanh", ["vanishing-tanh"])
    assert PRESETS["vanishing-tanh"].effect in " ".join(m.value for m in at.markdown)


def test_an_invalid_combination_is_refused_with_the_rule_and_the_run_is_kept():
    at = open_app(small(task="sine"))
    at.sidebar.toggle(key="cfg.bidirectional").set_value(True).run()
    assert_no_exception(at)
    assert session(at).config.bidirectional is False
    assert any("bidirectional must be false" in e.value for e in at.error)


def test_a_diverging_run_stops_with_a_banner_and_keeps_its_records():
    at = open_app({"cell": "rnn_relu", "init": "scaled", "rho": "3", "seq_len": "100", "hidden_size": "16",
                   "clip": "none", "optimizer": "sgd", "lr": "0.1"})
    sess = session(at)
    assert sess.trainer.state == "diverged"
    assert any("The run diverged" in e.value and "at step 0" in e.value for e in at.error)
    assert len(sess.history) == 1  # the diverged step itself is recorded: the inf is the lesson
    assert at.button(key="ctl.play").disabled  # nothing left to train until a reset
    click(at, "ctl.reset")
    assert session(at).trainer.state == "diverged"  # the same seed diverges again, reproducibly


# ------------------------------------------------------------------------------------------- other pages
def test_every_page_opens_without_exception_and_draws_charts():
    at = open_app(small(cell="lstm"))
    click(at, "ctl.step10")
    for page in PAGES:
        at.switch_page(page).run()
        assert_no_exception(at)
        if page == "pages/learn.py":  # a lesson's figure waits for its reveal (tests/app/test_learn.py walks one)
            assert any(r.key.endswith(".predict") for r in at.radio), "Learn drew no lesson"
        else:
            assert figures(at), f"{page} drew no chart"
        assert session(at).current_step == 10  # switching pages keeps the run


def test_hidden_states_heatmap_is_the_recorded_probe_hidden_state():
    at = open_app(small(cell="lstm"), page="pages/hidden_states.py")
    click(at, "ctl.step10")
    sess = session(at)
    rec = sess.history.record_at(10, full=True)
    heat = figure(at, "Hidden state h_t")
    z = next(values(t["z"]) for t in heat["data"] if t["type"] == "heatmap" and t.get("colorscale") is not None
             and "h =" in t.get("hovertemplate", ""))
    np.testing.assert_allclose(z, rec.hidden[0, 0, 0].astype(np.float32).T, rtol=1e-6)
    cell = figure(at, "cell state c_t")
    np.testing.assert_allclose(values(cell["data"][0]["z"]), rec.cell[0, 0, 0].astype(np.float32).T, rtol=1e-6)
    pca = figure(at, "trajectory")
    proj = analysis.pca_trajectory(rec.hidden[0, 0, 0].astype(np.float32), k=2)
    path = max(pca["data"], key=lambda t: len(values(t.get("x")) if t.get("x") is not None else []))
    np.testing.assert_allclose(values(path["x"]), proj.projected[:, 0], rtol=1e-5, atol=1e-6)


def test_hidden_states_scrubber_shows_an_older_step():
    at = open_app(small(), page="pages/hidden_states.py")
    click(at, "ctl.step10")
    at.toggle(key="hidden.step.follow").set_value(False).run()
    at.slider(key="hidden.step").set_value(3).run()
    assert_no_exception(at)
    rec = session(at).history.record_at(3, full=True)
    assert "training step 3" in figure(at, "Hidden state h_t")["layout"]["title"]["text"]
    heat = figure(at, "Hidden state h_t")
    z = next(values(t["z"]) for t in heat["data"] if "h =" in t.get("hovertemplate", ""))
    np.testing.assert_allclose(z, rec.hidden[0, 0, 0].astype(np.float32).T, rtol=1e-6)


@pytest.mark.parametrize("cell, gates", [("lstm", "ifgo"), ("gru", "rzn")])
def test_gate_heatmaps_are_the_recorded_gates(cell, gates):
    at = open_app(small(cell=cell), page="pages/gates.py")
    rec = session(at).history.record_at(0, full=True)
    fig = figure(at, "gates at every timestep")
    heatmaps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == len(gates)
    for g, tr in zip(gates, heatmaps, strict=True):
        np.testing.assert_allclose(values(tr["z"]), rec.gates[g][0, 0, 0].astype(np.float32).T, rtol=1e-6)
    sat = figure(at, "saturation")
    for g in gates:
        tanh = g in ("g", "n")  # candidates saturate at both ends: |value| is what counts
        v = np.abs(rec.gates[g][0, 0]) if tanh else rec.gates[g][0, 0]
        below, above = analysis.saturation(v)  # fractions over the probe batch
        shown = f"|{g}|" if tanh else g
        assert values(trace_named(sat, f"{shown} > 0.9")["y"])[0] == pytest.approx(above, abs=1e-12)
        assert values(trace_named(sat, f"{shown} < 0.1")["y"])[0] == pytest.approx(below, abs=1e-12)


def test_gates_page_explains_that_a_vanilla_rnn_has_none():
    at = open_app(small(cell="rnn_tanh"), page="pages/gates.py")
    assert any("has no gates" in i.value for i in at.info)
    assert not figures(at)


def test_gradient_flow_page_matches_the_record_and_the_theory_bound():
    at = open_app(small(init="scaled", rho="0.9"), page="pages/gradient_flow.py")
    click(at, "ctl.step10")
    sess = session(at)
    rec = sess.history.record_at(10)
    flow = figure(at, "Gradient flowing back")
    np.testing.assert_allclose(values(flow["data"][0]["y"]), rec.grad_norms[0, 0], rtol=1e-6)
    bound = trace_named(flow, "bound")
    sigma = float(rec.singular_values[0, 0, 0].max())
    expected = analysis.theory_bound(sigma, 1.0, 20) * rec.grad_norms[0, 0, -1]
    np.testing.assert_allclose(values(bound["y"]), expected, rtol=1e-5)
    heat = figure(at, "Gradient flow over training")
    z = values(heat["data"][0]["z"])
    np.testing.assert_allclose(z, np.log10(sess.history.grad_norm_matrix(0, 0)), rtol=1e-5)
    eig = figure(at, "Eigenvalues of W_hh")
    pts = trace_named(eig, "eigenvalues")
    lam = rec.eigenvalues[0, 0, 0]
    np.testing.assert_allclose(np.sort(values(pts["x"])), np.sort(lam.real), atol=1e-4)
    verdict = read_flow(rec, sess.config, 0, 0, sess.jacobian(0, 0)).verdict
    assert verdict.startswith("tanh RNN: ") and any(verdict in m.value for m in at.markdown)  # cells.py's label


def test_transport_chart_is_the_measured_jacobian_at_the_newest_step():
    at = open_app(small(), page="pages/gradient_flow.py")
    jac = session(at).jacobian(0, 0)
    transport = figure(at, "Transport back through time")
    np.testing.assert_allclose(values(trace_named(transport, "measured ||∂h_T")["y"]), jac.hidden, rtol=1e-5)
    sigma = float(session(at).history.record_at(0).singular_values[0, 0, 0].max())
    np.testing.assert_allclose(values(trace_named(transport, "bound on ||∂h_T/∂h_t||")["y"]),
                               analysis.theory_bound(sigma, 1.0, len(jac.hidden)), rtol=1e-6)


def test_gradient_flow_on_a_loss_at_every_step_draws_no_pascanu_bound_and_reads_the_transport():
    at = open_app(small(task="copy"), page="pages/gradient_flow.py")
    flow = figure(at, "Gradient flowing back")
    assert not [t for t in flow["data"] if "bound" in str(t.get("name", ""))]
    sess = session(at)
    verdict = read_flow(sess.history.record_at(0), sess.config, 0, 0, sess.jacobian(0, 0)).verdict
    assert "measured transport" in verdict and any(verdict in m.value for m in at.markdown)


def test_compare_trains_three_cells_in_lockstep_on_the_same_batches():
    at = open_app(small(), page="pages/compare.py")
    click(at, "cmp.step10")
    from ui.state import COMPARE_KEY

    cmp = at.session_state[COMPARE_KEY]
    assert {c: t.step_count for c, t in cmp.trainers.items()} == {"rnn_tanh": 11, "lstm": 11, "gru": 11}
    loss = figure(at, "Training loss")
    for label, cell in (("tanh RNN", "rnn_tanh"), ("LSTM", "lstm"), ("GRU", "gru")):
        np.testing.assert_allclose(values(trace_named(loss, label)["y"]),
                                   cmp.trainers[cell].history.scalars["loss"], rtol=1e-6)
        verdict = analysis.vanishing_verdict(label, cmp.trainers[cell].history.record_at(10).grad_norms[0, 0])
        assert any(verdict in m.value for m in at.markdown)
    probe_x = {c: t.probe.x for c, t in cmp.trainers.items()}
    np.testing.assert_array_equal(probe_x["rnn_tanh"].numpy(), probe_x["gru"].numpy())
    # one verdict line per cell (README says so), and the default forget-gate bias points to lstm-remembers
    first = analysis.vanishing_verdict("tanh RNN", cmp.trainers["rnn_tanh"].history.record_at(10).grad_norms[0, 0])
    block = next(m.value for m in at.markdown if first in m.value)
    assert [line[:5] for line in block.splitlines()] == ["- tan", "- LST", "- GRU"], block
    assert cmp.base.forget_bias == "default" and any(compare.LSTM_BIAS_NOTE in c.value for c in at.caption)
    assert "one verdict line per cell" in (Path(__file__).parents[2] / "README.md").read_text()


def test_compare_uses_the_sidebar_controls_for_its_three_cells():
    at = open_app(small(), page="pages/compare.py")
    keys = {b.key for b in at.button}
    assert {"cmp.play", "cmp.step1", "cmp.step10", "cmp.reset"} <= keys  # the sidebar's buttons, on cmp.*
    assert {b.label for b in at.button if b.key and b.key.startswith("cmp.")} == {
        "▶ Play all", "Step", "×10", "↺ Reset all"}
    from ui.state import COMPARE_KEY

    click(at, "cmp.step1")
    cmp = at.session_state[COMPARE_KEY]
    assert {c: t.step_count for c, t in cmp.trainers.items()} == {"rnn_tanh": 2, "lstm": 2, "gru": 2}
    assert session(at).trainer.step_count == 1  # the live run is not touched
    click(at, "cmp.reset")
    assert {c: t.step_count for c, t in cmp.trainers.items()} == {"rnn_tanh": 1, "lstm": 1, "gru": 1}


def test_learn_widgets_draw_the_maths_and_open_presets():
    from rnnviz.lessons import GUIDED

    at = open_app(page="pages/learn.py")
    at.selectbox(key="learn.lesson").select([g.key for g in GUIDED].index("vanishing")).run()
    at.slider(key="learn.vanishing.sigma_max").set_value(1.2).run()
    at.slider(key="learn.vanishing.rho").set_value(1.1).run()
    at.slider(key="learn.vanishing.T").set_value(50).run()
    assert_no_exception(at)
    jac = figure(at, "after 50 steps")
    np.testing.assert_allclose(values(trace_named(jac, "bound (γσ_max)^n")["y"]),
                               analysis.jacobian_product(1.2, 50, 1.0), rtol=1e-6)
    np.testing.assert_allclose(values(trace_named(jac, "example")["y"]),
                               analysis.example_jacobian_powers(1.2, 1.1, 50, 1.0), rtol=1e-6)
    at.button(key="learn.vanishing.setup").click().run()
    assert_no_exception(at)
    assert session(at).config == PRESETS["vanishing-tanh"].config
    titles = [f.get("layout", {}).get("title", {}).get("text", "") for f in figures(at)]
    assert not any("Gradient flowing back" in t for t in titles)  # the run's figure waits for the reveal


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_deep_bidirectional_runs_show_the_chosen_layer_and_direction(cell):
    at = open_app(small(cell=cell, num_layers=2, bidirectional=1), page="pages/hidden_states.py")
    click(at, "ctl.step1")
    at.selectbox(key="hidden.layer").select(1).run()
    at.radio(key="hidden.dir").set_value(1).run()
    assert_no_exception(at)
    rec = session(at).history.record_at(1, full=True)
    heat = figure(at, "Hidden state h_t")
    z = next(values(t["z"]) for t in heat["data"] if "h =" in t.get("hovertemplate", ""))
    np.testing.assert_allclose(z, rec.hidden[1, 1, 0].astype(np.float32).T, rtol=1e-6)
    for page in PAGES:
        at.switch_page(page).run()
        assert_no_exception(at)
    at.switch_page("pages/gradient_flow.py").run()
    flow = figure(at, "Gradient flowing back")
    assert len([t for t in flow["data"] if "layer" in str(t.get("name", ""))]) == 4  # 2 layers x 2 directions


def test_a_session_over_the_training_cap_is_told_it_is_queued_and_trains_in_its_turn():
    from ui.live import training_gate

    at = open_app(small())
    gate = training_gate()
    others = [f"other-{k}" for k in range(gate.slots)]
    for o in others:
        assert gate.acquire(o)
    try:
        click(at, "ctl.play")
        at.run()
        assert_no_exception(at)
        assert any("Server busy" in i.value and "queued" in i.value for i in at.info)
        assert session(at).current_step == 0  # waited, did not train
    finally:
        for o in others:
            gate.release(o)
    at.run()
    assert session(at).current_step > 0  # its turn came
    assert not any("Server busy" in i.value for i in at.info)


def test_chart_downloads_are_offered_while_paused_and_not_while_the_run_moves():
    """ui/widgets.py _moving(): a download button costs a server-side registration on every redraw of every
    session, and a figure of a moving run is out of date at once."""
    at = open_app(small())
    keys = lambda: {b.key for b in at.get("download_button")}  # noqa: E731
    assert {"playground.loss.html", "playground.loss.csv"} <= keys()
    click(at, "ctl.play")
    assert_no_exception(at)
    assert not {k for k in keys() if k.startswith("playground.")}
    click(at, "ctl.play")  # pause
    assert {"playground.loss.html", "playground.loss.csv", "playground.flow.html"} <= keys()


def test_the_training_animation_is_built_on_request_and_not_during_play():
    at = open_app(small(), page="pages/hidden_states.py")
    click(at, "ctl.step10")
    assert not any("training step" in f["layout"].get("sliders", [{}])[0].get("currentvalue", {}).get("prefix", "")
                   for f in figures(at) if f["layout"].get("sliders"))
    at.toggle(key="hidden.animate").set_value(True).run()
    assert_no_exception(at)
    anim = figure(at, "through training")
    sess = session(at)
    steps = sess.history.full_steps()
    assert [int(f["name"]) for f in anim["frames"]] == [int(s) for s in steps]  # 11 steps: every one a frame
    last = sess.history.record_at(int(steps[-1]), full=True)
    np.testing.assert_allclose(values(anim["frames"][-1]["data"][0]["z"]), last.hidden[0, 0, 0].astype(np.float32).T,
                               rtol=1e-6)
    click(at, "ctl.play")
    assert any("Pause training to build the animation" in i.value for i in at.info)


def test_the_redraw_interval_stretches_with_the_classroom_load():
    from rnnviz.session import TICK_SECONDS
    from ui.live import MAX_TICK_STRETCH, tick_interval, training_gate

    training_gate.clear()  # a fresh server-wide gate: earlier tests' sessions are not this class
    gate = training_gate()
    assert tick_interval() == TICK_SECONDS  # a quiet server
    for k in range(3 * gate.slots):  # three sessions per training slot asked just now
        if gate.acquire(f"student-{k}"):
            gate.release(f"student-{k}")
    assert tick_interval() == pytest.approx(3 * TICK_SECONDS)
    for k in range(int(MAX_TICK_STRETCH * gate.slots) + 10):
        if gate.acquire(f"crowd-{k}"):
            gate.release(f"crowd-{k}")
    assert tick_interval() == TICK_SECONDS * MAX_TICK_STRETCH  # capped
    training_gate.clear()


@pytest.mark.parametrize("demand, budget, steps", [
    (0.5, 0.3, 64),  # one session on two slots: the unstretched tick
    (1.0, 0.3, 64),
    (1.5, 0.4, 96),  # issue 16's scenario (3 sessions, 2 slots): 0.45 s would be its share, capped at 0.8 x 0.5
    (2.0, 0.4, 128),
    (3.0, 0.4, 128),
    (5.0, 0.24, 128),  # 10 private runs on 2 slots: 0.8 of the fair 0.3 s of every 1.5 s
    (20.0, 0.1, 128),  # a class far larger than the server: the floor
])
def test_a_stretched_tick_trains_its_share_within_the_fair_fill(demand, budget, steps):
    from ui.live import FAIR_FILL, SLOT_WAIT_SECONDS, stretched_interval, tick_work

    interval = stretched_interval(demand)  # as tick_interval()
    got_budget, got_steps = tick_work(interval, demand)
    assert (got_budget, got_steps) == (pytest.approx(budget), steps)
    if got_budget > 0.1:  # above the floor, the sessions together ask for at most FAIR_FILL of the slot time
        assert demand * got_budget / interval <= FAIR_FILL + 1e-12
    assert SLOT_WAIT_SECONDS == pytest.approx(2 * 0.4 + 0.3)  # a wait outlasts one whole hold by another tick


def test_a_knob_change_while_playing_restarts_the_run_and_keeps_playing():
    at = open_app(small(init="scaled"))
    click(at, "ctl.play")
    at.run()  # a tick trains
    assert session(at).current_step > 0
    at.sidebar.number_input(key="cfg.rho.exact").set_value(1.5).run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.playing and sess.config.rho == 1.5
    assert at.metric[0].value == "0"  # drawn at step 0 of the new config (the tick after it trains on)
    alone = Trainer(sess.config)
    alone.step(1)
    assert sess.history.scalars["loss"][0] == alone.history.scalars["loss"][0]
    assert at.button(key="ctl.play").label == "Pause"
    assert at.query_params["rho"] == "1.5"


def test_the_link_carries_the_current_config_after_every_action_while_playing():
    at = open_app({"preset": "vanishing-tanh"})
    click(at, "ctl.play")
    for page in ("pages/compare.py", "pages/learn.py", "pages/playground.py"):
        at.query_params.clear()  # a page link drops the query, as the browser's does
        at.switch_page(page).run()
        assert_no_exception(at)
        assert dict(at.query_params) == {"preset": "vanishing-tanh"}, page
    at.sidebar.selectbox(key="cfg.cell").select("lstm").run()
    assert_no_exception(at)
    expected = PRESETS["vanishing-tanh"].config.replace(cell="lstm").to_params()
    assert dict(at.query_params) == expected and "preset" not in at.query_params
    assert session(at).playing and session(at).config.cell == "lstm"
    click(at, "ctl.reset")
    assert dict(at.query_params) == expected


def test_a_pause_click_that_arrives_late_still_pauses_and_a_late_play_still_plays():
    at = open_app(small())
    click(at, "ctl.play")
    assert at.button(key="ctl.play").label == "Pause"
    session(at).pause()  # the state changed after the page was drawn (another run of the script got there first)
    click(at, "ctl.play")  # the click on the "Pause" the user saw
    assert not session(at).playing  # a toggle would have started the run again
    assert at.button(key="ctl.play").label != "Pause"
    session(at).play()  # and the other way round: a late click on Play never pauses
    click(at, "ctl.play")
    assert session(at).playing
