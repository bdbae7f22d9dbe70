"""Rewind and branch (issue 14 part 2): a branch with unchanged knobs repeats its run bit for bit; a changed
knob acts from the branch point on; shape-changing knobs are refused; delete and the caps."""

import numpy as np
import pytest
import torch

from rnnviz import branches
from rnnviz.branches import NamedRun, Runs, make_branch
from rnnviz.cells import CELLS
from rnnviz.config import FIELDS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.session import PlaySession
from rnnviz.trainer import Trainer

STEPS = 60
BRANCH_AT = 30  # scrubbed step; the checkpoint at or before it is step 20
BASE = dict(hidden_size=12, seq_len=12, batch_size=8, probe_size=2, checkpoint_every=20, max_steps=200)


def config(cell: str, **changes) -> ExperimentConfig:
    return ExperimentConfig(cell=cell, **{**BASE, **changes})


def assert_same_run(a: Trainer, b: Trainer) -> None:
    """Every scalar, recorded array and probe tensor, the weights and the optimizer state: exactly equal."""
    ma, xa = a.history.to_arrays()
    mb, xb = b.history.to_arrays()
    assert ma == mb
    assert xa.keys() == xb.keys()
    for k in xa:
        assert xa[k].dtype == xb[k].dtype, k
        np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    oa, ob = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert oa["param_groups"] == ob["param_groups"]
    assert oa["state"].keys() == ob["state"].keys()
    for i in oa["state"]:
        for k, v in oa["state"][i].items():
            assert torch.equal(v, ob["state"][i][k]) if isinstance(v, torch.Tensor) else v == ob["state"][i][k]


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_branch_with_unchanged_knobs_is_bit_identical_to_the_original(cell, optimizer):
    cfg = config(cell, optimizer=optimizer, lr=0.01)
    original = Trainer(cfg)
    original.step(STEPS)
    branch, start = make_branch(NamedRun("original", original), BRANCH_AT)
    assert start == 20 and branch.step_count == 20 and len(branch.history) == 20
    assert branch.state == "paused" and branch.reason == "branched at step 20"
    branch.step(STEPS - start)
    assert branch.step_count == original.step_count == STEPS
    assert_same_run(original, branch)


def test_the_optimizer_state_is_restored_not_restarted():
    """The bit-identical test above can fail: the same branch with Adam's moments dropped differs."""
    cfg = config("rnn_tanh", optimizer="adam", lr=0.01)
    original = Trainer(cfg)
    original.step(STEPS)
    ck = original.checkpoint_at(BRANCH_AT)
    assert ck.optimizer_kind == "adam" and ck.optimizer["state"]  # Adam's moments are in the checkpoint
    fresh = Trainer(cfg)
    fresh.start_at(ck, branches.history_prefix(original.history, ck.step, cfg))
    fresh.optimizer = torch.optim.Adam(fresh._params, lr=0.01)  # what a branch would be without the state
    fresh.step(STEPS - ck.step)
    assert fresh.history.scalars["loss"][ck.step] == original.history.scalars["loss"][ck.step]
    later = slice(ck.step + 1, None)
    assert not np.array_equal(fresh.history.scalars["loss"][later], original.history.scalars["loss"][later])


def test_a_lower_lr_acts_from_the_branch_point_on():
    cfg = config("lstm", optimizer="adam", lr=0.01)
    original = Trainer(cfg)
    original.step(STEPS)
    branch, start = make_branch(NamedRun("original", original), BRANCH_AT, cfg.replace(lr=0.001))
    branch.step(STEPS - start)
    a, b = original.history.scalars, branch.history.scalars
    for name in ("loss", "grad_norm", "lr"):
        np.testing.assert_array_equal(a[name][:start], b[name][:start], err_msg=name)
    np.testing.assert_array_equal(b["lr"][start:], 0.001)
    assert a["loss"][start] == b["loss"][start]  # step `start` sees the checkpoint's weights in both runs
    assert (a["loss"][start + 1:] != b["loss"][start + 1:]).all()  # every later step trained differently
    assert branch.optimizer.state_dict()["state"]  # Adam kept its moments under the new lr


def test_clipping_turned_on_at_the_branch_point_clips_from_there():
    cfg = config("rnn_tanh", clip="none", optimizer="sgd", lr=0.1, init="scaled", rho=2.0)
    original = Trainer(cfg)
    original.step(STEPS)
    threshold = float(np.median(original.history.scalars["grad_norm"][20:]))  # clips about half the steps
    branch, start = make_branch(NamedRun("original", original), BRANCH_AT,
                                cfg.replace(clip="norm", clip_threshold=threshold))
    branch.step(STEPS - start)
    a, b = original.history.scalars, branch.history.scalars
    assert not a["clipped"].any()
    assert not b["clipped"][:start].any() and b["clipped"][start:].any()
    clipped = b["clipped"][start:]
    assert (b["grad_norm"][start:][clipped] > threshold).all()
    np.testing.assert_allclose(b["grad_norm_clipped"][start:][clipped], threshold, rtol=1e-5)
    assert b["grad_norm"][start] == a["grad_norm"][start]  # the first branch step: same weights, same batch


def test_a_new_optimizer_starts_without_state():
    cfg = config("gru", optimizer="adam", lr=0.01)
    original = Trainer(cfg)
    original.step(STEPS)
    branch, start = make_branch(NamedRun("original", original), BRANCH_AT, cfg.replace(optimizer="sgd", lr=0.1))
    assert isinstance(branch.optimizer, torch.optim.SGD) and not branch.optimizer.state_dict()["state"]
    branch.step(5)
    assert branch.history.scalars["lr"][-1] == 0.1 and branch.step_count == start + 5


@pytest.mark.parametrize("name", [n for n in FIELDS if n not in branches.BRANCH_KNOBS])
def test_every_knob_that_is_not_a_branch_knob_is_refused_with_its_reason(name):
    cfg = config("lstm", task="adding")
    original = Trainer(cfg)
    original.step(3)
    other = {"cell": "gru", "hidden_size": 13, "num_layers": 2, "bidirectional": True, "task": "copy",
             "seq_len": 13, "noise": 0.2, "n_waves": 3, "parity_bits": 3, "corpus": "reber", "init": "xavier",
             "rho": 0.5, "forget_bias": "one", "seed": 1, "probe_size": 3}[name]
    with pytest.raises(RnnvizError) as err:
        make_branch(NamedRun("original", original), 2, cfg.replace(**{name: other}))
    why = {"model": "it changes the shapes of the weights", "task": "it changes the data",
           "init": "it acts only at step 0", "run": "the recorded probe tensors"}[FIELDS[name].group]
    assert str(err.value).startswith(f"{name} cannot change on a branch: ") and why in str(err.value)
    assert str(err.value).endswith("start a fresh run from the original to change it")


def test_every_branch_knob_can_change():
    cfg = config("rnn_tanh", checkpoint_every=1)
    original = Trainer(cfg)
    original.step(5)
    changes = dict(batch_size=4, optimizer="rmsprop", lr=0.002, clip="value", clip_threshold=0.5, record_every=2,
                   max_steps=50, checkpoint_every=3, pause_grad_norm=100.0)
    assert set(changes) == set(branches.BRANCH_KNOBS)
    branch, start = make_branch(NamedRun("original", original), 4, cfg.replace(**changes))
    assert start == 4
    branch.step(10)
    assert branch.config.batch_size == 4 and branch.step_count == 14
    assert set(branch.history.recorded_steps()[4:].tolist()) == {4, 6, 8, 10, 12}


def test_max_steps_must_leave_room_for_the_branch():
    cfg = config("rnn_tanh", checkpoint_every=5)
    original = Trainer(cfg)
    original.step(12)
    with pytest.raises(RnnvizError, match="max_steps must be above the branch point 10 to train the branch, got 10"):
        make_branch(NamedRun("original", original), 11, cfg.replace(max_steps=10))


def test_reset_of_a_branch_goes_back_to_its_branch_point_and_repeats_it():
    cfg = config("rnn_tanh", optimizer="adam", lr=0.01)
    original = Trainer(cfg)
    original.step(40)
    branch, start = make_branch(NamedRun("original", original), 25)
    branch.step(10)
    first = branch.history.scalars["loss"].copy()
    branch.reset()
    assert branch.step_count == start and len(branch.history) == start
    assert branch.state == "paused" and branch.reason == "back at the branch point, step 20"
    branch.step(10)
    np.testing.assert_array_equal(branch.history.scalars["loss"], first)
    with pytest.raises(RnnvizError, match="step must be at or after this run's first checkpoint, step 20"):
        branch.rewind(5)


def test_a_branch_at_step_0_is_a_fresh_run_with_the_new_knobs():
    cfg = config("gru", lr=0.01)
    original = Trainer(cfg)
    original.step(10)
    branch, start = make_branch(NamedRun("original", original), 0, cfg.replace(lr=0.003))
    assert start == 0 and branch.state == "ready" and len(branch.history) == 0
    branch.step(10)
    fresh = Trainer(cfg.replace(lr=0.003))
    fresh.step(10)
    np.testing.assert_array_equal(branch.history.scalars["loss"], fresh.history.scalars["loss"])


def test_the_branch_history_is_a_copy_and_capped():
    cfg = config("rnn_tanh")
    original = Trainer(cfg)
    original.step(30)
    before = original.history.scalars["loss"].copy()
    branch, start = make_branch(NamedRun("original", original), 25)
    assert branch.history is not original.history and branch.history.max_bytes == branches.BRANCH_HISTORY_BYTES
    branch.step(5)
    branch.history.scalars["loss"][:] = 0  # writing the branch's columns leaves the original alone
    np.testing.assert_array_equal(original.history.scalars["loss"], before)


# ---------------------------------------------------------------- the named runs


def test_runs_bookkeeping_slots_delete_and_the_cap():
    runs = Runs("t0")
    for k in range(branches.MAX_BRANCHES):
        runs.add(NamedRun(runs.next_name(), f"t{k + 1}", parent="original", branch_step=10 * k))
    assert runs.names == ["original", "branch 1", "branch 2", "branch 3", "branch 4"]
    assert [r.slot for r in runs] == [0, 1, 2, 3, 4] and runs.active == "branch 4"
    with pytest.raises(RnnvizError, match="a run has at most 4 branches, got 4 already; delete one first"):
        runs.add(NamedRun("branch 5", "t5", parent="original"))
    runs.delete("branch 2")
    assert runs.names == ["original", "branch 1", "branch 3", "branch 4"] and runs.active == "branch 4"
    new = runs.add(NamedRun(runs.next_name(), "t6", parent="branch 1", branch_step=5))
    assert new.name == "branch 2" and new.slot == 2  # the freed slot (colour) and name are reused
    runs.delete("branch 1")
    assert runs["branch 2"].parent == "original"  # a branch of a deleted branch keeps its own history
    runs.switch("branch 3")
    runs.delete("branch 3")
    assert runs.active == "original"
    with pytest.raises(RnnvizError, match="only a branch can be deleted, got the original run 'original'"):
        runs.delete("original")
    with pytest.raises(RnnvizError, match="run must be one of original, branch 4, branch 2, got 'nope'"):
        runs.switch("nope")
    with pytest.raises(RnnvizError, match="a run name must be 1..40 printable characters, got 41 characters"):
        runs.add(NamedRun("x" * 41, "t", parent="original"))


# ---------------------------------------------------------------- the session


def test_session_branch_switch_play_and_delete():
    sess = PlaySession(config("rnn_tanh", optimizer="adam", lr=0.01))
    sess.step(40)
    original = sess.trainer
    run = sess.branch(33, changes={"lr": 0.001})
    assert run.name == "branch 1" and run.branch_step == 20 and sess.runs.active == "branch 1"
    assert sess.trainer is run.trainer and sess.config.lr == 0.001 and sess.live_config.lr == 0.001
    assert sess.current_step == 19  # the branch shows steps 0..19; Step trains step 20 under lr 0.001
    sess.step(5)
    assert sess.history.scalars["lr"][-1] == 0.001 and sess.current_step == 24
    assert original.step_count == 41  # the original (step 0 and 40 steps) waits where it was
    overlay = sess.runs.overlay_scalars("loss")
    assert list(overlay) == ["original"] and overlay["original"][0] == 0 and len(overlay["original"][1]) == 41
    sess.switch("original")
    assert sess.trainer is original and sess.config.lr == 0.01
    assert list(sess.runs.overlay_scalars("loss")) == ["branch 1 (from step 20)"]
    sess.delete_branch("branch 1")
    assert sess.runs.names == ["original"] and sess.trainer is original


def test_session_branch_knob_change_remakes_the_branch_from_its_branch_point():
    sess = PlaySession(config("rnn_tanh", optimizer="adam", lr=0.01))
    sess.step(40)
    sess.branch(30)
    sess.step(15)
    sess.set_branch_config(sess.config.replace(clip="value", clip_threshold=0.01))
    assert sess.current_step == 19 and sess.runs.current.branch_step == 20 and sess.config.clip == "value"
    sess.step(3)
    assert sess.history.scalars["clipped"][20:].all()
    with pytest.raises(RnnvizError, match="^hidden_size cannot change on a branch"):
        sess.set_branch_config(sess.config.replace(hidden_size=16))
    assert sess.config.clip == "value" and sess.current_step == 22  # the refused change left it as it was
    sess.switch("original")
    with pytest.raises(RnnvizError, match="set_branch_config needs a branch to be shown, got the original run"):
        sess.set_branch_config(sess.config.replace(lr=0.1))


def test_session_new_config_drops_the_branches_and_the_cap_holds():
    sess = PlaySession(config("rnn_tanh"))
    sess.step(10)
    for _ in range(branches.MAX_BRANCHES):
        sess.switch("original")
        sess.branch(5)
    with pytest.raises(RnnvizError, match="at most 4 branches"):
        sess.branch(5)
    assert len(sess.runs) == 5
    sess.set_config(config("gru"))
    assert sess.runs.names == ["original"] and sess.config.cell == "gru" and sess.current_step == 0


def test_a_loaded_file_with_branches_can_be_switched_but_not_branched_and_the_overlay_follows():
    from rnnviz import io

    sess = PlaySession(config("rnn_tanh", optimizer="adam", lr=0.01))
    sess.step(30)
    sess.branch(25, changes={"lr": 0.001})
    sess.step(10)
    runs = io.load_runs(io.run_to_bytes(sess.runs.original.history, sess.runs.branches))
    viewer = PlaySession(config("gru"))
    viewer.load(runs[0].history, "class.npz", runs[1:])
    assert viewer.runs.names == ["original", "branch 1"] and viewer.runs.active == "original"
    assert viewer.trainer.name == "class.npz" and len(viewer.history) == 31
    kwargs = viewer.runs.overlay("loss")
    assert kwargs["run_label"] == "original" and list(kwargs["others"]) == ["branch 1 (from step 20)"]
    viewer.switch("branch 1")
    assert viewer.trainer.name == "class.npz, branch 1" and viewer.config.lr == 0.001 and len(viewer.history) == 30
    flow = viewer.runs.overlay_at(29)
    assert list(flow["others"]) == ["original"] and flow["slot"] == 1
    np.testing.assert_array_equal(flow["others"]["original"][1], runs[0].history.record_at(29).grad_norms[0, 0])
    with pytest.raises(RnnvizError, match="branching needs the live run; a loaded run is read-only"):
        viewer.branch(5)
    viewer.unload()
    assert viewer.runs.names == ["original"] and viewer.config.cell == "gru"


# ---------------------------------------------------------------- the overlaid charts


def _branched_session():
    sess = PlaySession(config("rnn_tanh", optimizer="adam", lr=0.01))
    sess.step(30)
    sess.branch(25, changes={"lr": 0.001})
    sess.step(10)
    return sess


def test_loss_and_gradient_norm_charts_overlay_the_runs_in_their_own_colour_and_dash():
    from rnnviz import plots
    from rnnviz.plots import style

    sess = _branched_session()
    scal = sess.history.scalars
    for fig, quantity in [
        (plots.loss_curve(scal["step"], scal["loss"], scal["metric"], "accuracy", 1 / 6, **sess.runs.overlay("loss")),
         "loss"),
        (plots.grad_norm_curve(scal["step"], scal["grad_norm"], **sess.runs.overlay("grad_norm")),
         "||g|| before clipping"),
    ]:
        traces = {t.name: t for t in fig.data}
        other, shown = traces["original"], traces[f"{quantity}: branch 1 (from step 20)"]
        assert (other.line.color, other.line.dash) == (style.RUN_COLOURS[0], "solid")
        assert (shown.line.color, shown.line.dash) == (style.RUN_COLOURS[1], "dash")
        np.testing.assert_array_equal(other.y, sess.runs.original.history.scalars[
            "loss" if quantity == "loss" else "grad_norm"])
        np.testing.assert_array_equal(shown.x, np.arange(30))
        assert list(other.x) == list(range(31)) and fig.layout.showlegend is not False
    sess.switch("original")
    fig = plots.loss_curve(sess.history.scalars["step"], sess.history.scalars["loss"], **sess.runs.overlay("loss"))
    traces = {t.name: t for t in fig.data}
    assert traces["loss: original"].line.color == style.RUN_COLOURS[0]
    assert traces["branch 1 (from step 20)"].line.dash == "dash"  # a run keeps its look whichever run is shown


def test_without_branches_the_charts_are_as_before():
    from rnnviz import plots

    sess = PlaySession(config("rnn_tanh"))
    sess.step(5)
    scal = sess.history.scalars
    assert sess.runs.overlay("loss") == {} and sess.runs.overlay_at(3) == {}
    assert plots.loss_curve(scal["step"], scal["loss"], **sess.runs.overlay("loss")) == \
        plots.loss_curve(scal["step"], scal["loss"])


def test_gradient_flow_overlays_each_run_at_the_same_step():
    from rnnviz import plots
    from rnnviz.plots import style

    sess = _branched_session()
    rec = sess.history.record_at(27)
    fig = plots.gradient_flow(rec.grad_norms, step=27, **sess.runs.overlay_at(27))
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"original", "branch 1 (from step 20)"}
    np.testing.assert_array_equal(traces["original"].y, sess.runs.original.history.record_at(27).grad_norms[0, 0])
    np.testing.assert_array_equal(traces["branch 1 (from step 20)"].y, rec.grad_norms[0, 0])
    assert traces["original"].line.color == style.RUN_COLOURS[0]
    assert traces["branch 1 (from step 20)"].line.dash == "dash"
    # before the branch point both runs hold the same record: the curves coincide exactly
    early = plots.gradient_flow(sess.history.record_at(10).grad_norms, step=10, **sess.runs.overlay_at(10))
    np.testing.assert_array_equal(early.data[0].y, early.data[1].y)


def test_cli_info_lists_the_branches_of_a_run_file(tmp_path, capsys):
    from rnnviz import io
    from rnnviz.cli import main

    sess = PlaySession(config("rnn_tanh", optimizer="adam", lr=0.01))
    sess.step(30)
    sess.branch(25, changes={"lr": 0.001, "clip": "none"})
    sess.step(4)
    sess.switch("original")
    sess.branch(12)
    path = tmp_path / "run.npz"
    io.save_run(sess.runs.original.history, path, sess.runs.branches)
    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    loss = sess.runs["branch 1"].history.scalars["loss"][-1]
    assert f"branch 'branch 1': from original at step 20 (lr = 0.001, clip = none), 24 steps, final loss {loss:.6g}" \
        in lines
    assert "branch 'branch 2': from original at step 0 (same knobs), 0 steps" in lines


def test_branching_while_the_play_loop_ticks_on_another_thread_trains_only_the_shown_run():
    import threading

    sess = PlaySession(config("rnn_tanh", checkpoint_every=5))
    sess.step(20)
    sess.play()
    errors: list[BaseException] = []
    stop = threading.Event()

    def loop():
        try:
            while not stop.is_set():
                sess.tick(budget=0.05, max_steps=4)
                if not sess.playing:
                    sess.play()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        run = sess.branch(12, changes={"lr": 0.002})
        sess.play()
        original_steps = sess.runs.original.trainer.step_count
        for _ in range(200):  # let the loop tick the branch a few times
            if run.trainer.step_count > 20:
                break
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert sess.runs.original.trainer.step_count == original_steps  # the original waited while the branch played
    assert run.trainer.step_count > 20 and (sess.history.scalars["lr"][10:] == 0.002).all()
    np.testing.assert_array_equal(np.diff(sess.history.steps), 1)
