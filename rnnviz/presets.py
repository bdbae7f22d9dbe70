"""The classroom presets: named, seeded configs, each with the one effect it shows.

Every number an effect text quotes is in :data:`PRESET_RANGES` (lowest and highest over seeds 0-4,
rounded outwards) and is re-measured by tests/test_presets.py with the Trainer for seeds 0-4.
``rnnviz.config.PRESETS`` reads this module's table.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.config import ExperimentConfig


@dataclass(frozen=True)
class Preset:
    """A named, seeded config with the one effect it shows, in a sentence a teacher can read out."""

    name: str
    title: str
    effect: str
    config: ExperimentConfig


def _presets(*ps: Preset) -> dict[str, Preset]:
    return {p.name: p for p in ps}


def quote_number(x: float) -> str:
    """How an effect text writes a measured number: ``3`` , ``0.08``, ``2e-12``, ``1e7`` (no ``+``/padding)."""
    text = f"{x:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _range(name: str, quantity: str) -> str:
    lo, hi = PRESET_RANGES[name][quantity]
    return f"{quote_number(lo)} to {quote_number(hi)}"


# Every number an effect text quotes about a run, as (lowest, highest) over seeds 0-4 within 500 training
# steps, rounded outwards; tests/test_presets.py re-measures each one for seeds 0-4 with the Trainer.
#   ratio0          ||dL/dh_1|| / ||dL/dh_T|| at step 0 (training batch)
#   max_grad_50     the largest finite gradient norm ||g|| (before clipping) in steps 0-49
#   diverged_step   the step at which the watchdog stopped the run (loss or ||g|| not finite)
#   late_loss       mean training loss over steps 400-499 / the task's baseline loss
#   cell_ratio0     ||dL/dc_1|| / ||dL/dc_T|| at step 0 (LSTM cell state)
#   ..._default_bias  the same quantity for the same LSTM with PyTorch's default forget-gate bias
#   ..._as_lstm       the same quantity for the preset with only its cell switched to LSTM (its init and
#                     PyTorch's default forget-gate bias kept), as the sidebar's Cell knob does
PRESET_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "vanishing-tanh": {"ratio0": (8e-13, 5e-12), "late_loss": (0.99, 1.22), "ratio0_as_lstm": (3e-12, 6e-11)},
    "exploding": {"max_grad_50": (1e14, 2e19), "diverged_step": (16, 20)},
    "clipping-tames": {"max_grad_50": (1e6, 9e7), "late_loss": (0.08, 0.22)},
    "lstm-remembers": {"late_loss": (0.009, 0.02)},
    "gru-remembers": {"late_loss": (0.003, 0.007)},
    "irnn": {"ratio0": (0.6, 0.8), "late_loss": (0.19, 0.37)},
    "forget-bias": {"cell_ratio0": (0.12, 0.22), "cell_ratio0_default_bias": (1e-10, 5e-10),
                    "late_loss": (0.009, 0.02)},
}

# The memory comparison: adding problem at T=50, H=64, batch 32, Adam 1e-2 with norm clipping at 1.
# vanishing-tanh, lstm-remembers and gru-remembers differ only in cell, init, rho and forget_bias. At T=100
# (and at T=50 with PyTorch's default forget bias, or bias one) the LSTM still sat on the 1/6 plateau at
# step 500 for some of seeds 0-4; at T=50 with chrono init every seed learned within 500 steps.
_FAIR = dict(task="adding", seq_len=50, hidden_size=64, batch_size=32, optimizer="adam", lr=1e-2, clip="norm",
             clip_threshold=1.0, max_steps=3000)
# The explosion: sine forecasting at T=70 (a loss at every step, so the lesson is clipping, not memory),
# tanh RNN with W_hh at spectral radius 3, SGD with momentum 0.9 at lr 0.1. Unclipped, every seed 0-4
# diverged within 20 steps; clipped to norm 1, every seed learned. (On the adding problem, clipped
# networks at spectral radius 3-4 stayed at 4-10x the baseline for 500 steps: nearly all of each clipped
# gradient is W_hh's, so the readout barely moves.)
_EXPLODING = dict(task="sine", seq_len=70, hidden_size=64, batch_size=32, cell="rnn_tanh", init="scaled",
                  rho=3.0, optimizer="momentum", lr=0.1, clip_threshold=1.0)

#: Presets for the classroom. Each ``effect`` states what tests/test_presets.py asserts for seeds 0-4
#: within 500 steps, quoting the ranges in PRESET_RANGES.
PRESETS: dict[str, Preset] = _presets(
    Preset(
        "vanishing-tanh",
        "Vanishing gradients (tanh RNN)",
        f"A tanh RNN with W_hh scaled to spectral radius 0.6 on the adding problem at T=50: at step 0 "
        f"the gradient reaching the first step is {_range('vanishing-tanh', 'ratio0')} of its size at the "
        f"last, and over steps 400-499 its mean loss stays at {_range('vanishing-tanh', 'late_loss')} of the "
        f"baseline (always answering the mean sum): it cannot learn to remember. Switching Cell to LSTM "
        f"keeps this init and PyTorch's default forget-gate bias, and the gradient still vanishes "
        f"({_range('vanishing-tanh', 'ratio0_as_lstm')} at step 0): for the contrast open the preset “The "
        f"LSTM remembers”, whose chrono forget-gate bias opens the forget gates from the start. The run "
        f"stops after 500 steps (Stop after steps), the steps this text describes.",
        # max_steps 500: left playing, seed 0's ||g|| jumped to 92 and its loss to 20x the baseline near
        # step 580 (seed 1 had ||g|| = 30 at step 15): a late blow-up this preset does not describe
        ExperimentConfig(cell="rnn_tanh", init="scaled", rho=0.6, **{**_FAIR, "max_steps": 500}),
    ),
    Preset(
        "exploding",
        "Exploding gradients (no clipping)",
        f"A tanh RNN with W_hh scaled to spectral radius 3 forecasting a sine at T=70, SGD with momentum "
        f"at lr 0.1 and no clipping: within the first 50 steps the gradient norm reaches "
        f"{_range('exploding', 'max_grad_50')} and the run diverges "
        f"(the loss or gradient stops being finite) at step {_range('exploding', 'diverged_step')}.",
        ExperimentConfig(clip="none", **_EXPLODING),
    ),
    Preset(
        "clipping-tames",
        "Gradient clipping tames the explosion",
        f"The same network, data and optimizer with the gradient clipped to norm 1: the gradient norm "
        f"still reaches {_range('clipping-tames', 'max_grad_50')} within the first 50 steps, but every "
        f"update uses the clipped gradient, the run never diverges, and over steps 400-499 its mean loss "
        f"is {_range('clipping-tames', 'late_loss')} of the baseline (always predicting 0).",
        ExperimentConfig(clip="norm", **_EXPLODING),
    ),
    Preset(
        "lstm-remembers",
        "The LSTM remembers",
        f"The same adding problem, optimizer and batches as vanishing-tanh with an LSTM whose forget-gate "
        f"bias uses chrono init, which opens the forget gates from the start (see forget-bias): over "
        f"steps 400-499 its mean loss is {_range('lstm-remembers', 'late_loss')} of the baseline.",
        ExperimentConfig(cell="lstm", forget_bias="chrono", **_FAIR),
    ),
    Preset(
        "gru-remembers",
        "The GRU remembers",
        f"The same adding problem, optimizer and batches as vanishing-tanh with a GRU at PyTorch's default "
        f"init: its update gate lets the state pass through, and over steps 400-499 its mean loss is "
        f"{_range('gru-remembers', 'late_loss')} of the baseline.",
        ExperimentConfig(cell="gru", **_FAIR),
    ),
    Preset(
        "irnn",
        "IRNN: relu with identity recurrence",
        f"A plain relu RNN whose W_hh starts as the identity: at step 0 the gradient reaching the first "
        f"step is {_range('irnn', 'ratio0')} of its size at the last (it neither vanishes nor explodes), "
        f"and over steps 400-499 its mean loss is {_range('irnn', 'late_loss')} of the baseline.",
        # Adam at 1e-3 (Le et al. used small steps): every seed 0-4 learned within 500 steps
        ExperimentConfig(cell="rnn_relu", init="identity", **{**_FAIR, "lr": 1e-3}),
    ),
    Preset(
        "forget-bias",
        "LSTM forget-gate bias (chrono init)",
        f"The lstm-remembers run seen through its forget gates: chrono init opens them from the start, so at "
        f"step 0 the cell-state gradient reaching the first step is {_range('forget-bias', 'cell_ratio0')} "
        f"of its size at the last (with PyTorch's default bias: "
        f"{_range('forget-bias', 'cell_ratio0_default_bias')}), and over steps 400-499 the mean loss is "
        f"{_range('forget-bias', 'late_loss')} of the baseline.",
        ExperimentConfig(cell="lstm", forget_bias="chrono", **_FAIR),
    ),
)
