"""python -m rnnviz: train -> info -> report end to end, presets, exit codes and error messages."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnviz.cli import _Progress, main, resolve_config
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.io import load_run

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "hidden_size=8", "--set", "seq_len=20", "--set", "batch_size=8"]


def test_train_info_report_end_to_end(tmp_path, capsys):
    out = tmp_path / "run.npz"
    rc = main(["train", "--preset", "vanishing-tanh", *SMALL, "--steps", "25", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "25/25" in captured.err and "steps/s" in captured.err and "loss" in captured.err
    assert f"saved {out}: 25 steps" in captured.out
    h = load_run(out)
    assert len(h) == 25 and h.config.init == "scaled" and h.config.hidden_size == 8
    assert h.config.max_steps == 25 and h.status["state"] == "finished"

    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "cell = rnn_tanh" in info and f"rho = {PRESETS['vanishing-tanh'].config.rho}" in info
    assert "steps trained      25" in info and "final loss" in info
    assert "||dL/dh_1|| / ||dL/dh_T||" in info and "at step 0" in info and "at step 24" in info
    assert "diverged           no" in info

    report = tmp_path / "report.html"
    assert main(["report", str(out), "--out", str(report)]) == 0
    assert "5 figures" in capsys.readouterr().out
    text = report.read_text()
    assert text.count("<div class=\"figure\">") == 5
    assert text.count("plotly.js v") <= 2 and "Plotly.newPlot" in text  # library inlined once
    assert "<script src=\"http" not in text  # standalone: no CDN
    assert "Gradient flow over training" in text


def test_train_diverged_run_saved_and_reported(tmp_path, capsys):
    out = tmp_path / "boom.npz"
    rc = main(["train", "--set", "cell=rnn_relu", "--set", "init=scaled", "--set", "rho=3",
               "--set", "optimizer=sgd", "--set", "lr=5", "--set", "clip=none", *SMALL,
               "--set", "seq_len=40", "--steps", "200", "--out", str(out), "--quiet"])
    assert rc == 0
    assert "diverged:" in capsys.readouterr().out
    assert main(["info", str(out)]) == 0
    assert "diverged           yes: " in capsys.readouterr().out
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0


def test_config_file_and_sets(tmp_path):
    f = tmp_path / "cfg.json"
    f.write_text(ExperimentConfig(cell="gru", hidden_size=16).to_json())
    c = resolve_config(config_file=str(f), sets=["lr=0.01", "clip = none"], steps=7)
    assert (c.cell, c.hidden_size, c.lr, c.clip, c.max_steps) == ("gru", 16, 0.01, "none", 7)
    assert resolve_config(preset="irnn").init == "identity"
    assert resolve_config() == ExperimentConfig()
    for kw, match in [(dict(sets=["nope"]), "KEY=VALUE"), (dict(sets=["bogus=1"]), "config fields"),
                      (dict(sets=["hidden_size=9999"]), "hidden_size"), (dict(preset="nope"), "preset"),
                      (dict(config_file=str(tmp_path / "missing.json")), "readable")]:
        with pytest.raises(RnnvizError, match=match):
            resolve_config(**kw)


def test_presets_lists_all(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS)


@pytest.mark.parametrize("argv", [[], ["fly"], ["train", "--steps", "0"], ["train", "--steps", "x"],
                                  ["train", "--preset", "a", "--config", "b"], ["info"]])
def test_bad_arguments_exit_2_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a run at all")
    for argv in (["info", str(bad)], ["report", str(bad)], ["info", str(tmp_path / "missing.npz")],
                 ["train", "--set", "bogus=1"], ["train", "--preset", "nope"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("rnnviz: error: ") and "Traceback" not in err, err


def test_python_dash_m_rnnviz_subprocess(tmp_path):
    out = tmp_path / "run.npz"
    run = subprocess.run([sys.executable, "-m", "rnnviz", "train", "--preset", "lstm-remembers", *SMALL,
                          "--steps", "4", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "4/4" in run.stderr  # not a terminal: plain lines
    bad = subprocess.run([sys.executable, "-m", "rnnviz", "info", str(tmp_path / "nope.npz")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("rnnviz: error:") and "Traceback" not in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "rnnviz", "bogus"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_data_file_for_csv_task(tmp_path, capsys):
    series = tmp_path / "series.csv"
    np.savetxt(series, np.sin(np.arange(300) / 5.0).reshape(-1, 1), delimiter=",")
    out = tmp_path / "csv.npz"
    rc = main(["train", "--set", "task=csv", *SMALL, "--steps", "3", "--data", str(series), "--out", str(out),
               "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert load_run(out).config.task == "csv"
    assert main(["train", "--steps", "2", "--data", str(series), "--out", str(out)]) == 2
    assert "charlm and csv" in capsys.readouterr().err


class _Tty:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_bar_on_a_terminal_redraws_in_place():
    tty = _Tty()
    bar = _Progress(100, stream=tty)
    for done in range(10, 101, 10):
        bar.update(done, 0.5)
    bar.close()
    assert tty.text.startswith("\r[") and tty.text.endswith("\n") and "100/100" in tty.text
    assert json.dumps(tty.text)  # plain text
