"""rnnviz.session: the live run, its data, and browsing a loaded run (headless, no Streamlit)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.io import load_run, run_to_bytes
from rnnviz.lockstep import CompareSession
from rnnviz.session import PlaySession
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4)


def test_step_zero_is_recorded_at_once_and_steps_match_a_headless_trainer():
    sess = PlaySession(SMALL)
    assert sess.current_step == 0 and len(sess.history) == 1
    sess.step(5)
    alone = Trainer(SMALL)
    alone.step(6)
    np.testing.assert_array_equal(sess.history.scalars["loss"], alone.history.scalars["loss"])


def test_set_config_with_data_reaches_the_trainer_and_a_bad_one_changes_nothing():
    sess = PlaySession(SMALL)
    sess.step(2)
    series = np.stack([np.sin(np.arange(60) / 4), np.cos(np.arange(60) / 7)], axis=1)
    csv_cfg = SMALL.replace(task="csv")
    assert sess.set_config(csv_cfg, series)
    assert sess.trainer.task.input_size == 2 and sess.data is series and sess.current_step == 0
    assert "your series" in sess.trainer.task.describe()
    before = sess.trainer
    with pytest.raises(RnnvizError, match="at least seq_len"):
        sess.set_config(csv_cfg.replace(seq_len=100), series)
    assert sess.trainer is before and sess.config == csv_cfg and sess.data is series
    assert not sess.set_config(csv_cfg, series)  # unchanged: no rebuild


def _saved(config, steps=4):
    t = Trainer(config)
    t.step(steps)
    return load_run(run_to_bytes(t.history)), t.history


def test_loading_a_run_shows_it_exactly_and_keeps_the_live_run_waiting():
    sess = PlaySession(SMALL)
    sess.step(3)
    live_hist = sess.history
    loaded, original = _saved(SMALL.replace(cell="gru", seed=3), steps=6)
    sess.load(loaded, "mine.npz")
    assert sess.loaded is not None and sess.history is loaded
    assert sess.config == original.config and sess.config.cell == "gru"
    assert sess.current_step == 5 and sess.trainer.state == "loaded"
    assert sess.trainer.task.title == "Adding problem"
    np.testing.assert_array_equal(sess.history.scalars["loss"], original.scalars["loss"])
    for refused in (lambda: sess.step(1), sess.reset, sess.jacobian):
        with pytest.raises(RnnvizError, match="read-only"):
            refused()
    sess.play()
    assert not sess.playing and sess.tick().steps == 0
    sess.unload()
    assert sess.history is live_hist and sess.current_step == 3 and sess.config == SMALL


def test_set_config_ends_browsing():
    sess = PlaySession(SMALL)
    sess.load(_saved(SMALL)[0], "a.npz")
    assert sess.set_config(SMALL)  # same live config: just back to it
    assert sess.loaded is None
    sess.load(_saved(SMALL)[0], "a.npz")
    assert sess.set_config(SMALL.replace(cell="lstm")) and sess.loaded is None and sess.config.cell == "lstm"


def test_a_loaded_diverged_run_keeps_its_state_and_reason():
    cfg = ExperimentConfig(cell="rnn_relu", init="scaled", rho=3.0, seq_len=100, hidden_size=16, clip="none",
                           optimizer="sgd", lr=0.1, batch_size=4)
    loaded, original = _saved(cfg, steps=3)
    sess = PlaySession(SMALL)
    sess.load(loaded, "boom.npz")
    assert sess.trainer.state == "diverged" and "step 0" in sess.trainer.reason


def test_a_loaded_run_on_own_data_describes_its_task_without_the_data():
    text = "abcabcabd " * 20
    cfg = SMALL.replace(task="charlm")
    t = Trainer(cfg, data=text)
    t.step(2)
    sess = PlaySession(SMALL)
    sess.load(load_run(run_to_bytes(t.history)), "text.npz")
    task = sess.trainer.task
    assert task.baseline_loss == pytest.approx(math.log(len(set(text))))
    assert "does not store" in task.describe()


def test_compare_session_uses_the_data():
    series = np.stack([np.sin(np.arange(80) / 4)], axis=1)
    cfg = SMALL.replace(task="csv")
    cmp = CompareSession(cfg, data=series)
    assert all(t.task.input_size == 1 for t in cmp.trainers.values())
    assert cmp.matches(cfg, series) and not cmp.matches(cfg, None)


# ----------------------------------------------------------------------------------- concurrency (issue 16 D1)
def _replay(journal, first: ExperimentConfig) -> PlaySession:
    """A headless replay of a session's journal, one action after another on one thread."""
    sess = PlaySession(first)
    for name, value in journal:
        if name in ("tick", "step") and value:
            sess.step(value)
        elif name == "reset":
            sess.reset()
        elif name == "set_config":
            sess.set_config(value)
    return sess


def test_one_session_hammered_from_several_threads_applies_each_action_once_and_replays_exactly():
    import random
    import threading

    configs = [SMALL, SMALL.replace(seed=1), SMALL.replace(cell="gru")]
    sess = PlaySession(SMALL, journal=10_000)
    errors: list[BaseException] = []
    seen_bad: list[str] = []
    done = threading.Event()

    def actor(k: int) -> None:
        r = random.Random(k)
        for _ in range(250):
            action = r.choice(("play", "pause", "step", "reset", "set_config", "tick", "tick", "tick"))
            try:
                if action == "step":
                    sess.step(r.randint(1, 3))
                elif action == "tick":
                    sess.tick(budget=0.005, max_steps=4)
                elif action == "set_config":
                    sess.set_config(r.choice(configs))
                else:
                    getattr(sess, action)()
            except BaseException as err:  # noqa: BLE001 - any exception fails the test
                errors.append(err)

    def reader() -> None:  # what a page sees while drawing: a consistent run, steps strictly increasing
        while not done.is_set():
            with sess.lock:
                steps, loss = sess.history.steps, sess.history.scalars["loss"]
                if not (len(steps) == len(loss) and np.all(np.diff(steps) == 1) and steps[-1] == sess.current_step):
                    seen_bad.append(f"steps {steps[-3:]}, current {sess.current_step}")

    threads = [threading.Thread(target=actor, args=(k,)) for k in range(4)]  # 4 x 250 = 1,000 actions
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert errors == [] and seen_bad == []
    steps = sess.history.steps
    np.testing.assert_array_equal(steps, np.arange(len(steps)))  # strictly increasing, from step 0
    applied = [name for name, _ in sess.journal]
    assert len(applied) == 1_000 and {"reset", "set_config", "tick", "step"} <= set(applied)  # each once
    again = _replay(sess.journal, SMALL)
    assert again.config == sess.config and again.current_step == sess.current_step
    np.testing.assert_array_equal(again.history.scalars["loss"], sess.history.scalars["loss"])
    for (name, a), b in zip(sess.trainer.model.state_dict().items(), again.trainer.model.state_dict().values(),
                            strict=True):
        assert np.array_equal(a.numpy(), b.numpy()), name


def test_an_action_during_a_tick_stops_the_tick_after_its_current_step_and_is_applied_once():
    import threading

    sess = PlaySession(SMALL.replace(hidden_size=64, seq_len=200, batch_size=32), journal=100)
    sess.play()
    started = threading.Event()
    result = {}

    def long_tick():
        started.set()
        result["tick"] = sess.tick(budget=30.0, max_steps=10_000)

    t = threading.Thread(target=long_tick)
    t.start()
    started.wait()
    while sess.current_step < 2:  # the tick is training
        pass
    sess.reset()  # arrives mid-tick: waits for the tick's current step, then resets
    t.join(timeout=30)
    assert not t.is_alive() and result["tick"].steps < 10_000 and result["tick"].seconds < 30
    assert sess.current_step == 0 and not sess.playing and list(sess.history.steps) == [0]
    assert [name for name, _ in sess.journal][-2:] == ["tick", "reset"]


def test_compare_keeps_a_run_paused_by_its_watchdog_while_the_others_play():
    cmp = CompareSession(SMALL)
    cmp.play()
    cmp.tick(budget=10.0, max_steps=2)
    lstm = cmp.trainers["lstm"]
    lstm.pause("gradient norm 12.3 rose above the pause threshold 10")  # what the watchdog does
    held = lstm.step_count
    for _ in range(3):
        assert cmp.tick(budget=10.0, max_steps=2).steps == 2
    assert lstm.step_count == held and lstm.state == "paused"  # the watchdog's pause holds
    assert cmp.trainers["gru"].step_count == held + 6
    cmp.pause()
    cmp.step(1)  # the user asks: the paused run trains again
    assert lstm.step_count == held + 1


def test_a_gated_session_trains_only_inside_a_slot_and_one_slot_per_tick(monkeypatch):
    import rnnviz.session as session_module
    from rnnviz.capacity import TrainingGate

    gate = TrainingGate(slots=1)
    sess = PlaySession(SMALL, gate=gate)
    assert gate.acquire("other")
    sess.play()
    assert sess.tick(wait=0.05).queued and sess.current_step == 0
    monkeypatch.setattr(session_module, "COMPUTE_WAIT_SECONDS", 0.05)
    with pytest.raises(RnnvizError, match=r"^training a step must wait for one of the server's 1 training slot\(s\), "
                                          r"got none free within 0.05 s \(the server is busy\); try again$"):
        sess.step(1)
    assert sess.current_step == 0
    gate.release("other")
    assert sess.tick(wait=0.05).steps > 0 and gate.active == 0  # released after the tick
    sess.pause()
    sess.step(10)
    assert sess.current_step > 10 and gate.active == 0


def test_the_jacobian_is_computed_once_per_step_and_view(monkeypatch):
    import rnnviz.jacobian as jacobian_module

    calls = []
    real = jacobian_module.jacobian_norms

    def counting(*args, **kwargs):
        calls.append((kwargs["layer"], kwargs["direction"], kwargs["sample"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(jacobian_module, "jacobian_norms", counting)
    sess = PlaySession(SMALL.replace(bidirectional=True))
    first = sess.jacobian(0, 0)
    assert sess.jacobian(0, 0) is first and len(calls) == 1  # a redraw: cached
    sess.jacobian(0, 1)
    assert sess.jacobian(0, 1) is not first and len(calls) == 2  # another view
    sess.step(1)
    again = sess.jacobian(0, 0)
    assert len(calls) == 3 and not np.array_equal(again.hidden, first.hidden)  # new weights, new values
    sess.reset()
    sess.jacobian(0, 0)
    assert len(calls) == 4


class _FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_steps_per_second_counts_wall_time_between_ticks_over_the_last_five_seconds():
    from rnnviz.rate import StepRate

    clock = _FakeClock()
    rate = StepRate(window=5.0, clock=clock)
    rate.start()  # play pressed at t=100
    for _ in range(10):  # a tick every 0.5 s trains 6 steps in 0.3 s: 12 steps per wall second
        clock.now += 0.5
        rate.add(6, 0.3)
    assert rate.per_second == pytest.approx(12.0)  # not 6 / 0.3 = 20 (training seconds only)
    for _ in range(10):  # the server gets busy: a tick every 2 s, still 6 steps in 0.3 s
        clock.now += 2.0
        rate.add(6, 0.3)
    # only the last ~5 s count: the ticks ending at t=121, 123, 125 after the anchor at t=119 -> 18 / 6
    assert rate.per_second == pytest.approx(3.0)
    clock.now += 0.5
    rate.add(0, 0.0)  # a tick that trained nothing still lets the wall time pass
    assert rate.per_second == pytest.approx(18 / 6.5)
    rate.clear()
    assert rate.per_second == 0.0
    rate.add(5, 0.25)  # Step outside play: measured from the start of its own training
    assert rate.per_second == pytest.approx(20.0)


def test_play_measures_the_rate_from_the_click():
    clock = _FakeClock()
    sess = PlaySession(ExperimentConfig(seq_len=5, hidden_size=4, batch_size=2))
    sess.rate = type(sess.rate)(clock=clock)
    sess.play()
    clock.now += 1.0
    result = sess.tick(budget=10.0, max_steps=4)
    assert result.steps == 4
    assert sess.rate.per_second == pytest.approx(4.0)  # 4 steps one wall second after Play


def test_a_knob_change_mid_play_plays_on_from_step_zero_of_the_new_config():
    sess = PlaySession(SMALL)
    sess.play()
    sess.tick(budget=10.0, max_steps=3)
    new = SMALL.replace(cell="lstm")
    assert sess.set_config(new, keep_playing=True)
    assert sess.playing and sess.config == new and sess.current_step == 0
    alone = Trainer(new)
    alone.step(1)
    assert sess.history.scalars["loss"][0] == alone.history.scalars["loss"][0]
    assert sess.tick(budget=10.0, max_steps=2).steps == 2 and sess.current_step == 2
    sess.pause()
    assert sess.set_config(SMALL, keep_playing=True) and not sess.playing  # a paused run stays paused
    sess.play()
    assert sess.set_config(new) and not sess.playing  # a preset or an upload still waits at step 0


def test_a_branch_knob_change_mid_play_remakes_the_branch_and_plays_on():
    sess = PlaySession(SMALL)
    sess.step(6)
    run = sess.branch(4, {"lr": SMALL.lr * 2})
    start = sess.current_step
    sess.play()
    sess.tick(budget=10.0, max_steps=2)
    assert sess.current_step == start + 2
    sess.set_branch_config(run.config.replace(lr=SMALL.lr * 3), keep_playing=True)
    assert sess.playing and sess.runs.current.name == run.name and sess.current_step == start
    assert sess.config.lr == SMALL.lr * 3 and sess.runs.current.parent is not None
