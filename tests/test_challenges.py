"""rnnviz.challenges: the quantity table, targets, links, and every shipped challenge solved and unsolved.

For each shipped challenge, over seeds 0-4 within its steps: its own config does not meet the target,
and its stated solution (a change of the knobs it lets the student change) does.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz import challenges
from rnnviz.challenges import CHALLENGES, QUANTITIES, Challenge, Target
from rnnviz.config import FIELDS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SEEDS = range(5)


def _solved(challenge: Challenge, config: ExperimentConfig) -> int | None:
    t = Trainer(config)
    t.step(challenge.steps)
    return challenges.solved_at(challenge, t.history, t.task.baseline_loss)


def test_at_least_six_challenges_each_complete():
    assert len(CHALLENGES) >= 6
    for key, c in CHALLENGES.items():
        assert c.key == key and c.title and c.hints
        assert c.change and set(c.solution) <= set(c.change), key
        assert c.locked == frozenset({*FIELDS, "preset"} - set(c.change)), key
        assert "seed" in c.locked and "preset" in c.locked
        need = QUANTITIES[c.target.quantity].needs
        assert need is None or c.config.cell == need, key
        assert c.to_params() == {"challenge": key}


@pytest.mark.parametrize("key", list(CHALLENGES))
def test_the_default_fails_and_the_solution_meets_the_target_for_seeds_0_to_4(key):
    c = CHALLENGES[key]
    for seed in SEEDS:
        assert _solved(c, c.config.replace(seed=seed)) is None, (key, seed, "the default already meets it")
        step = _solved(c, c.config.replace(seed=seed, **c.solution))
        assert step is not None and 0 <= step < c.steps, (key, seed, step)


# ------------------------------------------------------------------------------------------ quantities
def test_grad_ratio_reads_every_recorded_step():
    t = Trainer(ExperimentConfig(seq_len=10, hidden_size=8, batch_size=4, record_every=2))
    t.step(7)
    steps, values = challenges.quantity_series("grad_ratio", t.history)
    np.testing.assert_array_equal(steps, [0, 2, 4, 6])
    for s, v in zip(steps, values, strict=True):
        g = t.history.record_at(int(s)).grad_norms[0, 0].astype(np.float64)
        assert v == pytest.approx(g[0] / g[-1], rel=1e-6)
    assert len(challenges.quantity_series("cell_grad_ratio", t.history)[0]) == 0  # not an LSTM
    assert len(challenges.quantity_series("mean_forget_gate", t.history)[0]) == 0


def test_gate_means_and_loss_vs_baseline_on_a_real_run():
    t = Trainer(ExperimentConfig(cell="lstm", seq_len=10, hidden_size=8, batch_size=4))
    t.step(25)
    steps, f = challenges.quantity_series("mean_forget_gate", t.history)
    assert len(steps) == 25
    assert f[3] == pytest.approx(float(np.mean(t.history.record_at(3, full=True).gates["f"][0, 0].astype(np.float64))))
    steps, r = challenges.quantity_series("loss_vs_baseline", t.history, t.task.baseline_loss)
    loss = t.history.scalars["loss"].astype(np.float64)
    assert r[0] == pytest.approx(loss[0] / t.task.baseline_loss)
    assert r[24] == pytest.approx(loss[5:25].mean() / t.task.baseline_loss)  # the last 20 steps
    assert len(challenges.quantity_series("loss_vs_baseline", t.history, None)[0]) == 0


def test_running_mean_keeps_nan():
    np.testing.assert_allclose(challenges._running_mean(np.array([1.0, 3.0, 5.0]), 2), [1.0, 2.0, 4.0])
    assert np.isnan(challenges._running_mean(np.array([1.0, np.nan, 1.0]), 2)[1:]).all()


def test_solved_at_is_the_first_step_the_target_held():
    q = SimpleNamespace(scalars={"step": np.arange(6), "grad_norm": np.array([5, 4, 0.5, 3, 0.1, np.nan])})
    c = Challenge(None, "t", Target("grad_norm", "<", 1.0), 4)
    assert challenges.solved_at(c, q) == 2
    p = challenges.progress(c, q)
    assert (p.solved_step, p.latest_step, math.isnan(p.latest), p.within) == (2, 5, True, True)
    late = Challenge(None, "t", Target("grad_norm", "<", 0.2), 4)
    assert challenges.progress(late, q).solved_step == 4 and challenges.solved_at(late, q) is None  # after its steps
    never = Challenge(None, "t", Target("grad_norm", ">", 10), 6)
    assert challenges.solved_at(never, q) is None  # nan never meets a target


# ------------------------------------------------------------------------------------------ targets and links
def test_target_parse_and_format_round_trip():
    t = Target.parse(" grad_ratio > 1e-3 ")
    assert (t.quantity, t.op, t.value) == ("grad_ratio", ">", 1e-3)
    assert t.format() == "grad_ratio>0.001" and Target.parse(t.format()) == t
    assert t.words() == "make ||dL/dh_1|| / ||dL/dh_T|| exceed 0.001"
    assert CHALLENGES["keep-gradient"].within == "at step 0 (the untrained network)"
    assert CHALLENGES["learn-sine"].within == "within 200 steps"


@pytest.mark.parametrize("text, message", [
    ("grad_ratio=1", "challenge_target must be <quantity><op><number>"),
    ("speed>1", "a target's quantity must be one of ['grad_ratio'"),
    ("grad_ratio>nan", "challenge_target must be <quantity><op><number>"),
    ("grad_ratio>1e400", "a target's value must be a finite number, got inf"),
    ("grad_ratio>1.2.3", "challenge_target's value must be a number, got '1.2.3'"),
])
def test_bad_targets_raise_clear_errors(text, message):
    """A value the pattern accepts but float() refuses, or one that overflows, gets its own message."""
    with pytest.raises(RnnvizError) as err:
        Target.parse(text)
    assert str(err.value).startswith(message)


def test_from_params_shipped_custom_and_bad():
    assert challenges.from_params({}) == (None, [])
    c, problems = challenges.from_params({"challenge": "Keep-Gradient"})
    assert c is CHALLENGES["keep-gradient"] and problems == []
    c, problems = challenges.from_params({"challenge": "<b>x</b>"})
    assert c is None and problems == [f"challenge: must be one of {', '.join(CHALLENGES)}, got '<b>x</b>'; ignored"]
    c, problems = challenges.from_params({"challenge_target": "metric>0.5", "challenge_steps": "120",
                                          "challenge_hint": "  try   Adam "})
    assert problems == [] and c.key is None and c.steps == 120 and c.hints == ("try Adam",)
    assert c.target == Target("metric", ">", 0.5) and c.locked == frozenset()
    assert c.to_params() == {"challenge_target": "metric>0.5", "challenge_steps": "120", "challenge_hint": "try Adam"}
    assert challenges.from_params(c.to_params())[0] == c
    c, problems = challenges.from_params({"challenge_target": "metric>0.5", "challenge_steps": "9999"})
    assert c is None and problems == [
        "challenge_steps: must be an integer in 1..500, got 9999; the challenge is ignored"]
    c, problems = challenges.from_params({"challenge_target": "metric>0.5", "challenge_steps": "-1"})
    assert c is None and problems == [
        "challenge_steps: must be an integer in 1..500, got '-1'; the challenge is ignored"]
    c, problems = challenges.from_params({"challenge_target": "x"})
    assert c is None and problems[0].startswith("challenge_target: must be <quantity><op><number>")
    c, problems = challenges.from_params({"challenge_hint": "hi"})
    assert c is None and problems == ["challenge_hint: needs challenge_target; ignored"]
    long = challenges.from_params({"challenge_target": "metric>0.5", "challenge_hint": "a" * 1000})[0]
    assert len(long.hints[0]) == challenges.MAX_TEXT


def test_custom_params_validate():
    assert challenges.custom_params(Target("grad_ratio", ">", 1e-3), 50, "hint") == {
        "challenge_target": "grad_ratio>0.001", "challenge_steps": "50", "challenge_hint": "hint"}
    with pytest.raises(RnnvizError, match="challenge_steps must be an integer in 1..500, got 0"):
        challenges.custom_params(Target("grad_ratio", ">", 1e-3), 0)


_PARAM_TEXT = st.one_of(st.text(max_size=40), st.sampled_from(
    ["grad_ratio>1e-3", "metric<0.5", "grad_ratio>>1", "nan", "1e309", "-1", "0", "500", "501", "<b>x</b>",
     " keep-gradient ", "KEEP-GRADIENT", "speed>1", "grad_ratio>1e400", "loss_vs_baseline<"]))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.dictionaries(st.sampled_from(challenges.PARAMS), _PARAM_TEXT, max_size=4))
def test_from_params_never_raises_on_any_link(params):
    challenge, problems = challenges.from_params(params)
    assert all(isinstance(p, str) and p.split(": ", 1)[0] in challenges.PARAMS for p in problems)
    if challenge is not None:
        assert challenges.from_params(challenge.to_params()) == (challenge, [])
    else:
        assert problems or not ({"challenge", "challenge_target"} & set(params))
