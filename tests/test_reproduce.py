"""python -m rnnviz reproduce: the published effects re-measured over seeds 0-4 (issue 10, part 4).

The --quick subset (every step-0 target: Pascanu's bound at sigma_max = 0.9, the gradient ratio over the
spectral radius, orthogonal and identity init, default inits of all three cells, forget-gate bias 1 and
chrono, the copy-task baseline) runs here in full and each target must be reproduced.
"""

import math

import pytest

from rnnviz import reproduce
from rnnviz.cli import main

REQUIRED = {"pascanu", "rho-0.5", "rho-0.9", "rho-1", "rho-1.1", "rho-3", "orthogonal", "irnn", "default-rnn_tanh",
            "default-lstm", "default-gru", "forget-one", "chrono", "copy-baseline", "adding-vanishing-tanh",
            "adding-lstm-remembers", "adding-gru-remembers", "adding-irnn"}


def test_every_required_target_is_there_with_a_source_and_five_seeds():
    keys = [t.key for t in reproduce.TARGETS]
    assert set(keys) == REQUIRED and len(keys) == len(set(keys))
    for t in reproduce.TARGETS:
        assert t.seeds == (0, 1, 2, 3, 4) and t.source and t.expected[0] <= t.expected[1]
    assert {t.key for t in reproduce.TARGETS if not t.quick} == {k for k in REQUIRED if k.startswith("adding-")}


def test_quick_report_reproduces_every_step0_target(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    quick = [t for t in reproduce.TARGETS if t.quick]
    assert f"{len(quick)} of {len(quick)} targets reproduced" in out
    assert "[" + "#" * 30 + "]" in err and f"{5 * len(quick)}/{5 * len(quick)}" in err  # the progress bar
    md = (tmp_path / "REPRODUCE.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| target | source | measured (median and range over seeds) | verdict |"
    assert len(rows) == 1 + len(quick)
    for row, target in zip(rows[1:], quick, strict=True):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[1] == target.source and cells[3].startswith("reproduced (expected ")
        assert "5 seeds" in cells[2]
    page = (tmp_path / "reproduce.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page
    assert page.count("<tr class=\"ok\">") == len(quick)


def test_verdict_needs_the_median_in_range_and_every_seed_where_the_row_says_so():
    t = reproduce.Target("x", "claim", "source", lambda s: 0.0, (0.0, 1.0), every_seed=True, fmt="fixed")
    assert reproduce.Row(t, (0.1, 0.5, 0.9)).reproduced
    assert not reproduce.Row(t, (0.1, 0.5, 1.1)).reproduced  # one seed outside
    loose = reproduce.Row(reproduce.Target("y", "c", "s", lambda s: 0.0, (0.0, 1.0)), (0.1, 0.5, 1.1))
    assert loose.reproduced and loose.median == 0.5
    assert loose.cells()[2] == "0.5 (range 0.1 to 1.1, 3 seeds)"
    assert reproduce.Row(t, (2.0, 3.0, 4.0)).cells()[3] == "NOT reproduced (expected 0.000 to 1.000)"


def test_measurements_by_hand():
    assert reproduce.copy_baseline_ratio(0, T=10, n=500) == pytest.approx(1.0, rel=1e-6)
    assert reproduce.pascanu_margin(0, sigma_max=0.5) <= 1.0
    assert math.isfinite(reproduce.step0_ratio(0, init="orthogonal", hidden_size=8, seq_len=10))


def test_reproduce_refuses_a_missing_output_directory(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--out", str(tmp_path / "nope")]) == 2
    assert "--out must be an existing directory" in capsys.readouterr().err
