"""Phase-diagram sweeps: the gradient ratio at initialisation over a grid of config fields, batched.

    python -m rnnviz sweep --preset vanishing-tanh --grid rho=0.5:2.0:20 --grid seq_len=10:200:20 \\
        --seeds 3 --out phase.csv

Grid (:func:`parse_axis`): ``FIELD=LO:HI:N`` gives ``N`` values spaced linearly from ``LO`` to ``HI``
(``numpy.linspace``), ``FIELD=LO:HI:N:log`` spaced logarithmically (``numpy.geomspace``, ``LO > 0``).
``FIELD`` is any int or float field of :data:`rnnviz.config.FIELDS`; integer fields are rounded
(half to even) and repeated values dropped, so an axis may hold fewer than ``N`` values. The grid is
the Cartesian product of the axes (first axis outermost). Seeds: ``k`` seeds are ``seed, seed + 1,
..., seed + k - 1`` from the base config. Every point x seed is validated by ``ExperimentConfig``
itself before anything runs; one invalid point refuses the whole sweep (:func:`plan`).

Per config, exactly as the app's step 0 (``rnnviz.trainer.Trainer``): ``build_model(config, I, O)``,
the first training batch ``task.sample(batch_size, Generator().manual_seed(seed))`` and the loss
``task.loss(head(output), batch)``. Then (:class:`InitStats`):

    grad_ratio      = ||dL/dh_1|| / ||dL/dh_T||   (layer 0, forward direction; Frobenius norm over
                                                   N and H of the total BPTT adjoint, as Trace.grad_norms,
                                                   divided by rnnviz.analysis.gradient_ratio)
    sigma_max       = max_k sigma_max(W_hh block k)        (layer 0, forward direction)
    spectral_radius = max_k max|eig(W_hh block k)|

The blocks ``k`` are the H x H gate blocks the trainer records spectra for (``cells.Cell.blocks``): the one
matrix W_hh of a plain RNN; for the LSTM W_hi, W_hf, W_hg, W_ho and for the GRU W_hr, W_hz, W_hn, of
which the column is the largest (with init=scaled every block has spectral radius rho). For the plain
RNN, sigma_max(W_hh) * gamma (gamma = max |phi'|, 1 for tanh and relu) bounds the growth of every
backward step; the spectral radius is the long-run rate.

Batched (:func:`init_stats`): configs with the same shape (cell, H, N, L, I, O) run as one computation
whose per-step recurrent matmul is one ``baddbmm`` over the stacked W_hh of all of them (chunked to
``CHUNK_BYTES``). It repeats ``rnnviz.trace``'s operations in trace's order, and keeps every config's
buffers in trace's own per-config layout from a 64-byte-aligned start, apart from its neighbours
(``kernels.aligned_blocks``): MKL's gemm and torch's elementwise kernels then round exactly as in a per-config
trace, and the numbers are bit-identical to trace's (checked in tests/test_sweep.py for every cell and
on random shapes; the contract tested is 1e-6 relative). This matters: for rho > 1 the tanh RNN is
chaotic and a vanishing ratio is a sum that nearly cancels, so a last-bit difference in one op grew
to 1.6e-5 relative before the layouts matched. Shapes below torch's small-matrix threshold take one
addmm per config (``kernels.SMALL_BMM``). All four cells are batched for ``num_layers = 1``, one direction;
deeper or bidirectional models fall back to one ``rnnviz.trace`` per config (same numbers, no
speed-up). Run with one torch thread (``limit_threads(1)``), as the app does.

Training sweeps (:func:`run_sweep` with ``train``): every point x seed is trained with
:func:`train_one` (the Trainer, as ``python -m rnnviz train``) on a spawn process pool (one torch
thread per process) or on Ray; rows are written as points finish and a rerun resumes
(:class:`SweepFile`).

Modules: ``grid`` (axes and the plan), ``step0`` (InitStats, batched), ``kernels`` (the batched per-cell
passes, bit-identical to trace), ``table`` (rows, CSV, the output file and resume), ``training``
(train_one, the process pool and Ray), ``run`` (run_sweep, the whole sweep). Every public name is
importable from ``rnnviz.sweep``.
"""

from rnnviz.sweep.grid import MAX_AXIS_VALUES, MAX_RUNS, GridAxis, SweepPoint, parse_axis, plan
from rnnviz.sweep.run import run_sweep, sweep_spec
from rnnviz.sweep.step0 import CHUNK_BYTES, InitStats, init_stats
from rnnviz.sweep.table import PHASE_COLUMNS, TRAIN_COLUMNS, SweepFile, format_value, phase_rows, rows_to_csv
from rnnviz.sweep.training import RAY_PIN, TrainResult, train_columns, train_one

__all__ = [
    "GridAxis", "parse_axis", "SweepPoint", "plan", "InitStats", "init_stats", "phase_rows",
    "PHASE_COLUMNS", "TRAIN_COLUMNS", "rows_to_csv", "MAX_AXIS_VALUES", "MAX_RUNS",
    "TrainResult", "train_one", "run_sweep", "SweepFile", "CHUNK_BYTES", "RAY_PIN", "format_value",
    "sweep_spec", "train_columns",
]
