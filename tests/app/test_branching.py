"""Rewind and branch through AppTest: branch from the control strip at the scrubbed step with new knobs,
see both runs overlaid, switch the run every page shows, change a branch knob in the sidebar, delete."""

from __future__ import annotations

import numpy as np
from conftest import assert_no_exception, figure, open_app, session, trace_named, values

from rnnviz.trainer import limit_threads

SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8", "checkpoint_every": "10", "lr": "0.01"}
limit_threads(1)


def click(at, key: str):
    at.button(key=key).click().run()
    assert_no_exception(at)
    return at


def trained(page: str | None = None):
    at = open_app(SMALL, page=page)
    for _ in range(3):
        click(at, "ctl.step10")
    assert session(at).current_step == 30
    return at


def test_branch_from_the_scrubbed_step_with_a_lower_lr_then_switch_and_delete():
    at = trained("pages/gradient_flow.py")
    at.toggle(key="flow.step.follow").set_value(False).run()
    at.slider(key="flow.step").set_value(17).run()
    assert_no_exception(at)
    popover_text = " ".join(m.value for m in at.markdown)
    assert "Branch **original** at the step the scrubber shows" in popover_text
    lr = next(n for n in at.number_input if n.key.startswith("branch.lr."))
    assert lr.value == 0.01  # starts at the shown run's lr
    lr.set_value(0.001).run()
    click(at, "branch.go")
    assert [t.value for t in at.toast] == ["branch 1: branched at step 17, continues from the checkpoint at step 10"]
    sess = session(at)
    assert sess.runs.names == ["original", "branch 1"] and sess.runs.active == "branch 1"
    assert sess.config.lr == 0.001 and sess.current_step == 9 and sess.runs.current.branch_step == 10
    click(at, "ctl.step10")
    assert sess.current_step == 19 and sess.history.scalars["lr"][10:].tolist() == [0.001] * 10
    assert sess.runs.original.trainer.step_count == 31  # the original waits at step 30

    # the switcher shows the branch; the gradient-flow chart overlays the original at the same step
    assert at.selectbox(key="run.switch").value == "branch 1"
    at.slider(key="flow.step").set_value(19).run()
    flow = figure(at, "Gradient flowing back")
    np.testing.assert_array_equal(values(trace_named(flow, "original")["y"]),
                                  sess.runs.original.history.record_at(19).grad_norms[0, 0])
    np.testing.assert_array_equal(values(trace_named(flow, "branch 1 (from step 10)")["y"]),
                                  sess.history.record_at(19).grad_norms[0, 0])

    # Playground overlays loss and gradient norm, each run in its own dash
    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
    loss = figure(at, "Training loss")
    shown, other = trace_named(loss, "loss: branch 1"), trace_named(loss, "original")
    assert shown["line"]["dash"] == "dash" and other["line"]["dash"] == "solid"
    np.testing.assert_array_equal(values(other["y"]), sess.runs.original.history.scalars["loss"])
    np.testing.assert_array_equal(values(shown["y"]), sess.history.scalars["loss"])
    assert trace_named(figure(at, "Gradient norm per training step"), "original")

    # switch: every page shows the original; its knobs are back
    at.selectbox(key="run.switch").set_value("original").run()
    assert_no_exception(at)
    assert sess.runs.active == "original" and sess.current_step == 30 and sess.config.lr == 0.01
    assert at.metric[0].value == "30"
    assert not at.button(key="ctl.step1").disabled

    # delete the branch: one run left, no switcher
    at.selectbox(key="run.switch").set_value("branch 1").run()
    click(at, "branch.delete")
    assert sess.runs.names == ["original"] and sess.current_step == 30
    assert not at.get("selectbox") or all(s.key != "run.switch" for s in at.selectbox)


def test_on_a_branch_the_sidebar_changes_branch_knobs_and_refuses_the_others():
    at = trained()
    click(at, "branch.go")  # from the newest step (Playground has no scrubber), knobs unchanged
    sess = session(at)
    assert sess.runs.active == "branch 1" and sess.runs.current.branch_step == 30 and sess.current_step == 29
    assert sess.config == sess.runs.original.config  # the popover's knobs start at the shown run's
    at.selectbox(key="cfg.clip").set_value("value").run()
    assert_no_exception(at)
    assert sess.runs.active == "branch 1" and sess.config.clip == "value" and sess.current_step == 29
    assert at.selectbox(key="cfg.cell").disabled and not at.selectbox(key="cfg.clip").disabled
    assert any("A branch is shown" in c.value for c in at.caption)
    click(at, "ctl.step10")
    assert at.button(key="ctl.reset").help.startswith("Back to where branch 1 branched (step 30)")
    click(at, "ctl.reset")  # a branch's reset goes back to its branch point and shows that step again
    assert sess.current_step == 30 and len(sess.history) == 31 and sess.runs.original.trainer.step_count == 31


def test_the_cap_disables_branch_from_here():
    at = trained()
    for _ in range(4):
        click(at, "branch.go")
        at.selectbox(key="run.switch").set_value("original").run()
    sess = session(at)
    assert len(sess.runs.branches) == 4
    assert at.button(key="branch.go").disabled


def test_a_saved_run_with_branches_loads_and_its_runs_can_be_switched():
    from rnnviz import io

    at = trained()
    click(at, "branch.go")
    click(at, "ctl.step10")
    sess = session(at)
    data = io.run_to_bytes(sess.runs.original.history, sess.runs.branches)
    runs = io.load_runs(data)
    sess.load(runs[0].history, "saved.npz", runs[1:])
    at.run()
    assert_no_exception(at)
    assert at.selectbox(key="run.switch").options == ["Shown: original", "Shown: branch 1 (from step 30)"]
    assert not any(b.key == "branch.go" for b in at.button)  # a file has no weights to branch from
    at.selectbox(key="run.switch").set_value("branch 1").run()
    assert_no_exception(at)
    assert sess.trainer.name == "saved.npz, branch 1" and sess.current_step == 39
