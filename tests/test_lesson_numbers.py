"""Every number a lesson quotes is recomputed here from the code (issue 10, part 3).

Numbers about a run are measured over seeds 0-4 with the same engine (rnnviz.reproduce's measurements)
and must lie inside the range the lesson quotes. A test also scans every lesson for decimals and powers
of ten, so a new number cannot enter a lesson without a check in QUOTES.
"""

import inspect
import math
import re

import numpy as np
import pytest
import torch

from rnnviz import analysis, flow, lessons, reproduce
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.models import build_model
from rnnviz.tasks import make_task

SEEDS = range(5)


def _sigma_max_at_rho(rho: float, H: int) -> list[float]:
    return [torch.linalg.matrix_norm(build_model(ExperimentConfig(init="scaled", rho=rho, hidden_size=H, seed=s),
                                                 2, 1).rnn.weight_hh_l0.double(), ord=2).item() for s in SEEDS]


def _within(values, lo, hi) -> bool:
    return all(lo <= v <= hi for v in values)


#: (lesson key, the exact quoted text, a check that recomputes it)
QUOTES = [
    ("vanishing", r"$0.9^{100} \approx 2.7\cdot10^{-5}$", lambda: round(0.9**100, 6) == 2.7e-5),
    ("vanishing", r"$\sigma_{\max} = 0.9$", lambda: True),  # the premise of the line above
    ("vanishing", r"$\rho = 0.9$ has $\sigma_{\max} \approx 1.6$ to $1.8$ ($H = 128$)",
     lambda: _within(_sigma_max_at_rho(0.9, 128), 1.6, 1.8)),
    ("vanishing", r"is $2\cdot10^{-7}$ to" + "\n" + r"$7\cdot10^{-6}$ (seeds 0-4)",
     lambda: _within([reproduce.step0_ratio(s, init="scaled", rho=0.9) for s in SEEDS], 2e-7, 7e-6)),
    ("exploding", r"measured at $5\cdot10^{12}$ to $4\cdot10^{14}$ times",
     lambda: _within([reproduce.step0_ratio(s, init="scaled", rho=3.0) for s in SEEDS], 5e12, 4e14)),
    ("exploding", r"but $1/4$ for the sigmoid", lambda: analysis.NONLINEARITY_GAMMA["sigmoid"] == 1 / 4),
    ("exploding", r"needs $\sigma_{\max} > 4$", lambda: 1 / analysis.NONLINEARITY_GAMMA["sigmoid"] == 4),
    ("forget-bias", r"$f \approx 0.5$",
     lambda: _within([reproduce.mean_forget_gate(s, "default") for s in SEEDS], 0.49, 0.51)),
    ("forget-bias", r"$0.5^{100} \approx 8\cdot10^{-31}$", lambda: round(0.5**100 / 1e-31) == 8),
    ("forget-bias", r"about $0.73$",
     lambda: all(round(v, 2) == 0.73 for v in (reproduce.mean_forget_gate(s, "one") for s in SEEDS))),
    ("forget-bias", r"$f \approx 0.96$ at" + "\n" + r"  $T_{\max} = 100$",
     lambda: round(float(np.median([reproduce.mean_forget_gate(s, "chrono") for s in SEEDS])), 2) == 0.96),
    ("forget-bias", "forget gates above 0.9",
     lambda: inspect.signature(analysis.saturation).parameters["high"].default == 0.9),
    ("clipping", "the presets here clip at 1",
     lambda: {p.config.clip_threshold for p in PRESETS.values() if p.config.clip != "none"} == {1.0}),
    ("evaluation", r"$1/6$", lambda: math.isclose(make_task(ExperimentConfig(task="adding")).baseline_loss, 1 / 6)),
    ("evaluation", "25% for 4 classes",
     lambda: make_task(ExperimentConfig(task="temporal_order")).baseline_metric == 0.25),
]


@pytest.mark.parametrize("key, quoted, check", QUOTES, ids=[f"{k}:{q[:30]}" for k, q, _ in QUOTES])
def test_every_quoted_number_is_recomputed_from_the_code(key, quoted, check):
    assert quoted in lessons.lesson_by_key(key).body_markdown
    assert check()


NUMBER = re.compile(r"\d+\.\d+|\d*\\cdot10\^\{-?\d+\}|10\^\{-?\d+\}|\d+%|\d+/\d+")


def test_no_number_in_a_lesson_goes_unchecked():
    checked = {(k, m) for k, q, _ in QUOTES for m in NUMBER.findall(q)}
    for lesson in lessons.LESSONS:
        for number in NUMBER.findall(lesson.body_markdown):
            assert (lesson.key, number) in checked, (lesson.key, number)


def test_per_step_statements_use_sigma_max_and_long_run_ones_the_spectral_radius():
    vanishing = lessons.lesson_by_key("vanishing").body_markdown
    assert r"Each factor has norm at most $\gamma\,\sigma_{\max}$" in vanishing
    assert "long-run" in vanishing and "Gelfand" in vanishing
    assert "long run" in lessons.lesson_by_key("exploding").body_markdown
    widget = lessons.WIDGETS["jacobian_product"]
    assert [c.name for c in widget.controls] == ["sigma_max", "rho", "T", "gamma"]
    assert "γρ" not in widget.caption.split("long-run")[0]  # the one-step norm is γσ_max, never γρ
    assert flow.FLOW_CAPTION.count("σ_max") >= 2 and "long-run rate" in flow.FLOW_CAPTION
