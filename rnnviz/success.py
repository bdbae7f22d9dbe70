"""Success rate against sequence length on the adding problem: the tanh RNN, the LSTM and the GRU.

Pascanu, Mikolov & Bengio 2013 measure how often a recurrent network learns a long-lag task as the lag grows
(the success rate over runs, against the sequence length); Hochreiter & Schmidhuber 1997 made the LSTM for
exactly these lags. Here every (cell, length, seed) is one training run of the training sweep
(``rnnviz.sweep.run_sweep`` with ``train=steps``, the same runs as ``python -m rnnviz sweep --train``):

    success      = the run did not diverge and the loss of its last step <= success x the baseline 1/6
    success rate = (runs that succeeded) / seeds,   per cell and length

The setup (:data:`BASE`) is the presets' fair comparison (H = 64, batch 32, Adam at 1e-2, gradient norm clipped
to 1), each cell at PyTorch's default init except the LSTM's forget-gate bias (chrono init, as lstm-remembers:
with PyTorch's default bias the LSTM too sat on the baseline at T = 100). The claim checked
(:meth:`SuccessTable.reproduced`), over the seeds the study uses: at the longest length the LSTM and the GRU
succeed at least as often as the tanh RNN, and the tanh RNN succeeds less often at the longest length than at
the shortest.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnnviz.errors import RnnvizError

SOURCE = "Pascanu, Mikolov & Bengio 2013; Hochreiter & Schmidhuber 1997"
CELLS = ("rnn_tanh", "lstm", "gru")
#: Every run's config but the cell, length and seed (record_every: only step 0 is recorded, the sweep reads
#: the losses, which the trainer keeps for every step).
BASE = dict(task="adding", hidden_size=64, batch_size=32, optimizer="adam", lr=1e-2, clip="norm", clip_threshold=1.0,
            forget_bias="chrono", record_every=10_000)


@dataclass(frozen=True)
class Study:
    """Lengths T, ``seeds`` seeds (0 .. seeds-1) and ``steps`` training steps per run; success level."""

    lengths: tuple[int, ...]
    seeds: int
    steps: int
    success: float = 0.5

    @property
    def runs(self) -> int:
        return len(CELLS) * len(self.lengths) * self.seeds


#: The full study (docs/REPRODUCE.md) and the quick one that the test suite runs.
FULL = Study((10, 20, 50, 100, 200), seeds=5, steps=1000)
QUICK = Study((10, 50), seeds=3, steps=800)


@dataclass(frozen=True)
class SuccessTable:
    """The measured study: per cell, the success rate and the median final loss / baseline per length."""

    study: Study
    rates: dict[str, tuple[float, ...]]
    final_loss: dict[str, tuple[float, ...]]

    @property
    def reproduced(self) -> bool:
        """At the longest length LSTM and GRU rates >= the tanh RNN's, and the tanh RNN's rate lower at the
        longest length than at the shortest."""
        tanh = self.rates["rnn_tanh"]
        return all(self.rates[c][-1] >= tanh[-1] for c in ("lstm", "gru")) and tanh[-1] < tanh[0]

    def succeeded(self, cell: str, index: int) -> int:
        """How many seeds succeeded for ``cell`` at ``study.lengths[index]``."""
        return round(self.rates[cell][index] * self.study.seeds)


def _config(cell: str, length: int):
    from rnnviz.config import ExperimentConfig

    return ExperimentConfig(**{**BASE, "cell": cell, "seq_len": length})


def measure(study: Study, workers: int | None = None, progress: Callable[[int, int], None] | None = None,
            out: str | Path | None = None) -> SuccessTable:
    """Run the study: one training sweep per cell over ``study.lengths`` (``workers`` processes, default one
    per core). ``progress(done, total)`` counts runs. The sweeps' CSVs go to ``out`` (a folder; kept, so a
    rerun resumes them) or to a temporary folder."""
    from rnnviz.sweep import GridAxis, run_sweep

    workers = workers or os.cpu_count() or 1
    axis = GridAxis("seq_len", tuple(study.lengths))
    rates, losses, done = {}, {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        if not folder.is_dir():
            raise RnnvizError(f"the success study's output must be an existing folder, got {str(folder)!r}")
        for cell in CELLS:
            rows: list[dict] = []
            start = done

            def tick(k, total, start=start):
                if progress is not None:
                    progress(start + k, study.runs)

            run_sweep(_config(cell, study.lengths[0]), [axis], study.seeds, folder / f"success_{cell}.csv",
                      train=study.steps, success=study.success, workers=workers, progress=tick, on_row=rows.append)
            done += len(study.lengths) * study.seeds
            rows = _read(folder / f"success_{cell}.csv") if len(rows) < len(study.lengths) else rows
            by_length = {int(float(r["seq_len"])): r for r in rows}
            rates[cell] = tuple(float(by_length[T]["success_rate"]) for T in study.lengths)
            losses[cell] = tuple(float(by_length[T]["final_loss"]) / _baseline() for T in study.lengths)
    return SuccessTable(study, rates, losses)


def _baseline() -> float:
    """The adding problem's chance loss (1/6: always answering the mean sum), from the task itself."""
    from rnnviz.tasks import make_task

    return make_task(_config("rnn_tanh", 10)).baseline_loss


def _read(path: Path) -> list[dict]:
    """The rows of a finished sweep's CSV (a resumed sweep reports only the rows it computed)."""
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
