"""``python -m rnnviz``: headless training runs, run summaries, standalone HTML reports, presets.

    python -m rnnviz presets
    python -m rnnviz train --preset vanishing-tanh --steps 500 --out run.npz
    python -m rnnviz train --config cfg.json --set lr=0.01 --set clip=none --steps 200 --out run.npz
    python -m rnnviz info run.npz
    python -m rnnviz report run.npz --out report.html
    python -m rnnviz reproduce [--quick] [--out DIR]
    python -m rnnviz sweep --preset vanishing-tanh --grid rho=0.5:2.0:20 --grid seq_len=10:200:20 --seeds 3
    python -m rnnviz pack --preset all --steps 500 --out lecture/

Exit codes: 0 success; 2 bad arguments (argparse's usage message) or a user error (RnnvizError:
one line on stderr, no traceback). Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import html
import math
import sys
import time
from pathlib import Path

from rnnviz import cells
from rnnviz.errors import RnnvizError

__all__ = ["main", "build_parser", "resolve_config"]

# Steps per Trainer.step() call in the CLI loop: small enough for a lively progress bar,
# large enough that the loop's own overhead is nothing.
CHUNK = 10
# Seconds between progress redraws (a terminal redraw is cheap, but not free for thousands of steps).
PROGRESS_EVERY = 0.2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rnnviz",
                                description="Headless runs of the rnnviz engine (train, inspect, report).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train_parser(sub)
    i = sub.add_parser("info", help="print a saved run's config and summary")
    i.add_argument("run", help="a run saved by `train` (.npz)")
    r = sub.add_parser("report", help="write the key figures of a run as one standalone HTML file")
    r.add_argument("run", help="a run saved by `train` (.npz)")
    r.add_argument("--out", default="report.html", help="output file (default: report.html)")
    sub.add_parser("presets", help="list the presets")
    _add_sweep_parser(sub)
    _add_reproduce_parser(sub)
    _add_pack_parser(sub)
    return p


def _add_config_source(parser: argparse.ArgumentParser, set_help: str) -> None:
    """--preset | --config, then --set overrides: where `train` and `sweep` take their config from."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help="start from a preset (see `presets`)")
    src.add_argument("--config", metavar="FILE", help="start from a JSON config file (ExperimentConfig.to_json)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help=set_help)


def _add_run_options(parser: argparse.ArgumentParser, threads_help: str) -> None:
    """--data, --threads and --quiet, shared by `train` and `sweep`."""
    parser.add_argument("--data", metavar="FILE", help="data for the charlm (text) or csv (numeric table) task")
    parser.add_argument("--threads", type=_positive_int, default=1, help=threads_help)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="train a config and save the run as .npz")
    _add_config_source(t, "override one config field (repeatable), e.g. --set lr=0.01")
    t.add_argument("--steps", type=_positive_int, default=None,
                   help="steps to train (sets max_steps; default: the config's max_steps)")
    t.add_argument("--out", default="run.npz", help="output file (default: run.npz)")
    _add_run_options(t, "torch intra-op threads (default 1: small RNNs gain little from more)")


def _add_sweep_parser(sub) -> None:
    w = sub.add_parser(
        "sweep", help="gradient ratio at initialisation over a grid of config fields, as CSV",
        description="One CSV row per grid point: the grid fields, sigma_max and spectral_radius of layer 0's "
                    "W_hh (median over seeds; gated cells: the largest over the gate blocks), grad_ratio = "
                    "median over seeds of ||dL/dh_1|| / ||dL/dh_T|| at initialisation on the first training "
                    "batch, grad_ratio_min and grad_ratio_max. Every grid point x seed is validated by the "
                    "config's own rules before anything runs: one invalid point refuses the whole sweep "
                    "(exit 2, naming the point and the rule).")
    _add_config_source(w, "override one config field (repeatable), as in `train`")
    w.add_argument("--grid", dest="grids", action="append", default=[], required=True,
                   metavar="FIELD=LO:HI:N[:log]",
                   help="a swept int or float field, N values from LO to HI spaced linearly (or logarithmically "
                        "with :log); integer fields are rounded and repeats dropped (repeatable: the grid is "
                        "the product of the axes, first axis outermost)")
    w.add_argument("--seeds", type=_positive_int, default=1,
                   help="seeds per point: the config's seed, seed+1, ... (default 1)")
    w.add_argument("--out", default="sweep.csv", help="output CSV (default: sweep.csv)")
    _add_run_options(w, "torch intra-op threads (default 1: the batched sweep is bit-identical to the app's "
                        "one-thread trace)")
    w.add_argument("--train", type=_positive_int, metavar="STEPS",
                   help="also train every point x seed for STEPS steps (as `train`) and add final_loss (median "
                        "over seeds of the last step's loss), success_rate (fraction of seeds not diverged whose "
                        "final loss <= SUCCESS x the task's baseline) and steps_to_success (median first step at "
                        "or below that level; empty when at least half the seeds never got there). Rows are written as "
                        "points finish; rerunning the same command resumes (finished points are skipped)")
    w.add_argument("--success", type=float, default=0.5,
                   help="success level as a fraction of the task's baseline loss (default 0.5)")
    w.add_argument("--workers", type=_positive_int, default=None,
                   help="training processes, one torch thread each (default: the core count)")
    w.add_argument("--ray", metavar="ADDRESS|local",
                   help="run the training on a Ray cluster at ADDRESS, or a local Ray with --workers CPUs "
                        "(optional extra: pip install -e .[cluster])")


def _add_pack_parser(sub) -> None:
    k = sub.add_parser("pack", help="record runs and write them as a folder of static pages (no server needed)",
                       description="Writes OUT/index.html (the runs, with each preset's effect text), one page per "
                                   "run, OUT/lockstep.html (RNN, LSTM and GRU on one scrubber, from the first run's "
                                   "config) and plotly.js once. Open index.html from disk or put the folder on any "
                                   "static web host.")
    k.add_argument("--preset", dest="presets", action="append", default=[], metavar="NAME|all",
                   help="record a preset (repeatable; `all` = every preset)")
    k.add_argument("--config", dest="configs", action="append", default=[], metavar="FILE",
                   help="record a JSON config file (repeatable)")
    k.add_argument("--run", dest="runs", action="append", default=[], metavar="FILE",
                   help="a run saved by `train` (.npz), packed as recorded (repeatable)")
    k.add_argument("--steps", type=_positive_int, default=500,
                   help="steps to record per preset or config (default 500)")
    k.add_argument("--frames", type=_positive_int, default=100,
                   help="at most this many recorded steps per page, evenly spaced (default 100)")
    k.add_argument("--out", default="lecture", help="output folder (default: lecture)")
    k.add_argument("--no-lockstep", action="store_true", help="no RNN/LSTM/GRU lockstep page")
    k.add_argument("--threads", type=_positive_int, default=1, help="torch intra-op threads (default 1)")
    k.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_reproduce_parser(sub) -> None:
    q = sub.add_parser("reproduce", help="re-measure the published effects over seeds: REPRODUCE.md and .html",
                       description="Measures each target of rnnviz.reproduce (Pascanu's bound, the gradient ratio over "
                                   "the spectral radius, default inits, forget-gate bias, the adding and copy tasks) "
                                   "over seeds 0-4 and writes DIR/REPRODUCE.md (a markdown table: target | source | "
                                   "measured | verdict), DIR/reproduce.html (the same, standalone) and "
                                   "DIR/success_vs_length.html (the success rate of tanh RNN, LSTM and GRU against "
                                   "the sequence length, from training sweeps).")
    q.add_argument("--quick", action="store_true",
                   help="the step-0 targets and a small success-vs-length study (under 2 minutes on 2 cores)")
    q.add_argument("--out", default=".", metavar="DIR", help="output directory (default: the current one)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 with the usage message on bad arguments
    try:
        return {"train": cmd_train, "info": cmd_info, "report": cmd_report, "presets": cmd_presets,
                "sweep": cmd_sweep, "reproduce": cmd_reproduce, "pack": cmd_pack}[args.command](args)
    except RnnvizError as e:
        print(f"rnnviz: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrnnviz: interrupted", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------------------------- reproduce
def cmd_reproduce(args) -> int:
    from rnnviz import reproduce
    from rnnviz.trainer import limit_threads

    limit_threads(1)
    out = Path(args.out)
    if not out.is_dir():
        raise RnnvizError(f"--out must be an existing directory, got {args.out!r}")
    bar = None

    def progress(done: int, total: int, key: str) -> None:
        nonlocal bar
        bar = bar or _Progress(total, enabled=not args.quiet, unit="runs")
        bar.update(done)

    rows = reproduce.run(quick=args.quick, progress=progress)
    if bar:
        bar.close()
    (out / "REPRODUCE.md").write_text(reproduce.markdown_report(rows, args.quick), encoding="utf-8")
    (out / "reproduce.html").write_text(reproduce.html_page(rows), encoding="utf-8")
    table = reproduce.study_of(rows)
    if table is not None:
        from rnnviz.plots import figure_to_html

        (out / "success_vs_length.html").write_text(figure_to_html(reproduce.success_figure(table)), encoding="utf-8")
    failed = [r.key for r in rows if not r.reproduced]
    print(f"wrote {out / 'REPRODUCE.md'} and {out / 'reproduce.html'}: {len(rows) - len(failed)} of {len(rows)} "
          f"targets reproduced" + (f"; not reproduced: {', '.join(failed)}" if failed else ""))
    return 0


# ---------------------------------------------------------------------------------------- presets
def cmd_presets(args) -> int:
    from rnnviz.config import PRESETS

    width = max(len(n) for n in PRESETS)
    for name, p in PRESETS.items():
        print(f"{name:<{width}}  {p.title}")
        print(f"{'':<{width}}  {p.effect}")
    return 0


# ---------------------------------------------------------------------------------------- train
def resolve_config(preset: str | None = None, config_file: str | None = None, sets=(), steps=None):
    """The ExperimentConfig a ``train`` command means: preset or file (or defaults), then ``--set``s
    (parsed strictly, as URL parameters are), then ``--steps`` as max_steps."""
    from rnnviz.config import FIELDS, PRESETS, ExperimentConfig

    if preset is not None:
        if preset not in PRESETS:
            raise RnnvizError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        config = PRESETS[preset].config
    elif config_file is not None:
        config = ExperimentConfig.from_json(_read_text(config_file, "config file"))
    else:
        config = ExperimentConfig()
    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RnnvizError(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise RnnvizError(f"--set keys must be config fields ({', '.join(FIELDS)}), got {', '.join(unknown)}")
    if overrides:
        config, _ = ExperimentConfig.from_params({**config.to_params(), **overrides}, strict=True)
    if steps is not None:
        config = config.replace(max_steps=steps)
    return config


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RnnvizError(f"{what} must be a readable UTF-8 file, got {path!r} ({e})") from None


def _load_data(path: str | None, task: str):
    if path is None:
        return None
    if task == "charlm":
        return _read_text(path, "--data")
    if task == "csv":
        import numpy as np

        try:
            data = np.genfromtxt(path, delimiter=",", dtype=np.float64, invalid_raise=True)
        except (OSError, ValueError) as e:
            raise RnnvizError(f"--data for the csv task must be a numeric CSV file, "
                              f"got {path!r} ({e})") from None
        return data.reshape(-1, 1) if data.ndim == 1 else data
    raise RnnvizError(f"--data is for the charlm and csv tasks only, got task {task!r}")


def cmd_train(args) -> int:
    from rnnviz.io import save_run
    from rnnviz.trainer import Trainer, limit_threads

    config = resolve_config(args.preset, args.config, args.sets, args.steps)
    limit_threads(args.threads)
    trainer = Trainer(config, _load_data(args.data, config.task))
    total = config.max_steps
    bar = _Progress(total, enabled=not args.quiet)
    while trainer.step_count < total:
        recs = trainer.step(min(CHUNK, total - trainer.step_count))
        if recs:
            bar.update(trainer.step_count, recs[-1].loss)
        if trainer.state == "paused" and trainer.stop_reason:  # the watchdog's pause is for the live app;
            # headless runs go on
            bar.note(f"paused: {trainer.reason} (continuing)")
        elif trainer.state in ("diverged", "finished"):
            break
    bar.close()
    save_run(trainer.history, args.out)
    h = trainer.history
    verdict = f"diverged: {trainer.reason}" if trainer.state == "diverged" else trainer.state
    print(f"saved {args.out}: {len(h)} steps, {len(h.recorded_steps())} recorded, "
          f"{Path(args.out).stat().st_size / 2**20:.1f} MB on disk, {verdict}")
    return 0


class _Progress:
    """A plain-text progress line on stderr: a bar, steps/s and the loss (no dependency).

    On a terminal it redraws one line in place; elsewhere (CI logs) it prints a line every 10%."""

    def __init__(self, total: int, enabled: bool = True, stream=None, unit: str = "steps"):
        self.total, self.enabled, self.unit = total, enabled, unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = self.last = time.perf_counter()
        self.next_decile = 1
        self.line = ""

    def update(self, done: int, loss: float | None = None) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        final = done >= self.total
        if self.tty and not final and now - self.last < PROGRESS_EVERY:
            return
        if not self.tty and not final and done * 10 < self.next_decile * self.total:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        width = 30
        filled = int(width * done / max(self.total, 1))
        self.line = (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}  "
                     f"{rate:6.1f} {self.unit}/s" + ("" if loss is None else f"  loss {loss:.4g}"))
        if self.tty:
            self.stream.write("\r" + self.line)
        else:
            self.next_decile = done * 10 // max(self.total, 1) + 1
            self.stream.write(self.line + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        if self.enabled:
            self.stream.write(("\n" if self.tty and self.line else "") + text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.line:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------- info
def summarize(history) -> dict:
    """The numbers `info` prints (also used by the report's header)."""
    from rnnviz.analysis import format_ratio, gradient_ratio

    sc = history.scalars
    n = len(history)
    out = {"steps": n, "recorded": len(history.recorded_steps()), "full": len(history.full_steps()),
           "state": history.status.get("state", ""), "reason": history.status.get("reason", "")}
    if n:
        out["final_loss"] = float(sc["loss"][-1])
        out["final_metric"] = float(sc["metric"][-1])
        out["clipped"] = int(sc["clipped"].sum())
        out["max_grad_norm"] = float(sc["grad_norm"].max())
        out["diverged"] = not bool(sc["finite"].all())
    m = history.grad_norm_matrix()
    if m.shape[0]:
        steps = history.recorded_steps()
        first, last = gradient_ratio(m[0]), gradient_ratio(m[-1])
        out["ratio_first"] = (int(steps[0]), first, format_ratio(first))
        out["ratio_last"] = (int(steps[-1]), last, format_ratio(last))
    return out


def cmd_info(args) -> int:
    from rnnviz.io import load_runs

    runs = load_runs(args.run)
    h = runs[0].history
    print(f"run: {args.run}")
    print("config:")
    if h.config is None:
        print("  (none saved)")
    else:
        for key, value in h.config.to_dict().items():
            print(f"  {key} = {value}")
    s = summarize(h)
    print("summary:")
    print(f"  steps trained      {s['steps']}  (recorded {s['recorded']}, with hidden states {s['full']})")
    if s["steps"]:
        print(f"  final loss         {s['final_loss']:.6g}")
        print(f"  final metric       {s['final_metric']:.6g}")
        print(f"  clipped steps      {s['clipped']} of {s['steps']}")
        print(f"  max gradient norm  {s['max_grad_norm']:.3g}")
    if "ratio_first" in s:
        (s0, _, f0), (s1, _, f1) = s["ratio_first"], s["ratio_last"]
        print(f"  gradient ratio ||dL/dh_1|| / ||dL/dh_T||: {f0} at step {s0}, {f1} at step {s1}")
    diverged = s.get("diverged", False) or s["state"] == "diverged"
    print(f"  diverged           {'yes: ' + s['reason'] if diverged else 'no'}")
    why = f" ({s['reason']})" if s["reason"] and not diverged else ""
    print(f"  state              {s['state']}{why}")
    print(f"  history in memory  {h.nbytes / 2**20:.1f} MB")
    _print_branches(h, runs[1:])
    return 0


def _print_branches(h, saved) -> None:
    """One line per branch of a run file (format version 2): where it starts and what it changed."""
    from rnnviz.branches import changed_knobs

    for b in saved:
        changes = ", ".join(f"{n} = {getattr(b.history.config, n)}" for n in changed_knobs(h.config, b.history.config))
        loss = b.history.scalars["loss"]
        last = f", final loss {loss[-1]:.6g}" if len(loss) else ""
        print(f"branch {b.name!r}: from {b.parent} at step {b.branch_step} ({changes or 'same knobs'}), "
              f"{len(loss)} steps{last}")


# ---------------------------------------------------------------------------------------- report
def report_figures(history) -> list:
    """The key figures of a run (rnnviz.plots builders): loss, gradient norm, gradient flow at the
    last record, the gradient heatmap over training, the hidden-state heatmap at the last full record."""
    import numpy as np

    from rnnviz import plots

    sc = history.scalars
    cfg = history.config
    figs = []
    if len(history) == 0:
        return figs
    baseline, metric_name = None, None
    if cfg is not None:
        try:
            from rnnviz.tasks import make_task

            task = make_task(cfg) if cfg.task != "csv" and cfg.task != "charlm" else None
            if task is not None:
                baseline, metric_name = task.baseline_loss, task.metric_name
        except RnnvizError:
            pass
    diverged = history.status.get("diverged_step")
    if baseline is not None and not math.isfinite(baseline):
        baseline = None
    figs.append(plots.loss_curve(sc["step"], sc["loss"], metric=sc["metric"], metric_name=metric_name,
                                 baseline=baseline, diverged_step=diverged))
    clip = getattr(cfg, "clip", "none") if cfg is not None else "none"
    figs.append(plots.grad_norm_curve(sc["step"], sc["grad_norm"], sc["grad_norm_clipped"], sc["clipped"],
                                      threshold=cfg.clip_threshold if clip == "norm" else None))
    steps = history.recorded_steps()
    if len(steps):
        last = history.record_at(int(steps[-1]))
        figs.append(plots.gradient_flow(last.grad_norms, step=last.step))
        figs.append(plots.gradient_flow_heatmap(steps, history.grad_norm_matrix()))
    full = history.record_at(int(history.steps[-1]), full=True)
    if full is not None:
        hidden = full.hidden[0, 0, 0].astype(np.float32)  # (L, H): layer 1, forward, probe sample 1
        x = history.probe.get("x")
        title = f"Hidden state h_t of every unit (probe sequence 1, step {full.step})"
        figs.append(plots.hidden_heatmap(hidden, inputs=None if x is None else x[0], title=title,
                                         bounded=cfg is None or cells.get(cfg.cell).nonlinearity != "relu"))
    return figs


def cmd_report(args) -> int:
    from rnnviz.io import load_run

    h = load_run(args.run)
    figs = report_figures(h)
    s = summarize(h)
    parts = []
    for k, fig in enumerate(figs):
        parts.append(fig.to_html(include_plotlyjs=(k == 0), full_html=False))  # plotly.js once, inline
    lines = [f"{s['steps']} steps, state {s['state']}" + (f" ({s['reason']})" if s["reason"] else "")]
    if "final_loss" in s:
        lines.append(f"final loss {s['final_loss']:.4g}, clipped steps {s['clipped']}")
    if "ratio_first" in s:
        (s0, _, f0), (s1, _, f1) = s["ratio_first"], s["ratio_last"]
        lines.append(f"gradient ratio ||dL/dh_1|| / ||dL/dh_T||: {f0} at step {s0}, {f1} at step {s1}")
    config = h.config.to_json() if h.config is not None else "(no config saved)"
    title = f"rnnviz report: {Path(args.run).name}"
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;font-size:18px}"
        "pre{background:#f4f4f4;padding:1em;font-size:14px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        + "".join(f"<p>{html.escape(x)}</p>" for x in lines)
        + "".join(f"<div class=\"figure\">{p}</div>" for p in parts)
        + f"<h2>Config</h2><pre>{html.escape(config)}</pre></body></html>\n"
    )
    try:
        Path(args.out).write_text(doc, encoding="utf-8")
    except OSError as e:
        raise RnnvizError(f"report output must be writable, got {args.out!r} ({e.strerror})") from None
    print(f"wrote {args.out}: {len(figs)} figures, {len(doc) / 2**20:.1f} MB")
    return 0


# ---------------------------------------------------------------------------------------- sweep
def cmd_sweep(args) -> int:
    import os

    from rnnviz.sweep import parse_axis, plan, run_sweep
    from rnnviz.trainer import limit_threads

    if args.train is None:
        given = [flag for flag, v in (("--workers", args.workers), ("--ray", args.ray)) if v is not None]
        if given or args.success != 0.5:
            given += ["--success"] if args.success != 0.5 else []
            raise RnnvizError(f"{', '.join(given)} only apply to a training sweep (--train STEPS), got no --train")
    axes = [parse_axis(spec) for spec in args.grids]
    base = resolve_config(args.preset, args.config, args.sets)
    n_configs = len(plan(base, axes, args.seeds)) * args.seeds  # validates every point before anything runs
    limit_threads(args.threads)
    bar = _Progress(n_configs, enabled=not args.quiet, unit="runs" if args.train else "configs")

    def progress(done, total):
        bar.total = total
        bar.update(done)

    t0 = time.perf_counter()
    rows, computed = run_sweep(base, axes, args.seeds, args.out, train=args.train, success=args.success,
                               workers=args.workers or os.cpu_count() or 1, ray=args.ray,
                               data=_load_data(args.data, base.task), progress=progress)
    bar.close()
    shape = " x ".join(f"{len(a.values)} {a.field}" for a in axes)
    resumed = f", {rows - computed} kept from an earlier run" if rows > computed else ""
    print(f"wrote {args.out}: {rows} points ({shape}) x {args.seeds} seeds{resumed}; "
          f"{computed * args.seeds} configs computed in {time.perf_counter() - t0:.1f} s")
    return 0


# ---------------------------------------------------------------------------------------- pack
def cmd_pack(args) -> int:
    from rnnviz import pack
    from rnnviz.config import PRESETS
    from rnnviz.io import load_run
    from rnnviz.trainer import limit_threads

    names = list(PRESETS) if "all" in args.presets else list(dict.fromkeys(args.presets))
    if not (names or args.configs or args.runs):
        raise RnnvizError("pack needs at least one --preset NAME (or all), --config FILE or --run FILE, got none")
    limit_threads(args.threads)
    bars: dict[str, _Progress] = {}

    def progress(label, done, total, loss):
        if label not in bars:
            for bar in bars.values():
                bar.close()
            bars.clear()
            bars[label] = _Progress(total, enabled=not args.quiet)
            bars[label].note(f"recording {label}")
        bars[label].update(done, loss)

    runs = [pack.preset_run(n, args.steps, progress) for n in names]
    for path in args.configs:
        config = resolve_config(config_file=path, steps=args.steps)
        runs.append(pack.config_run(config, Path(path).stem, progress=progress))
    runs += [pack.history_run(load_run(path), Path(path).stem) for path in args.runs]
    lockstep = None
    if not args.no_lockstep:
        base = runs[0].history.config
        if base is None:
            raise RnnvizError("the lockstep page needs the first run's config; that run file has none "
                              "(add --no-lockstep)")
        lockstep = pack.lockstep_trainers(base.replace(max_steps=args.steps), progress=progress)
    for bar in bars.values():
        bar.close()
    size = pack.write_pack(args.out, runs, lockstep, max_frames=args.frames)
    pages = len(runs) + (lockstep is not None)
    plotly_js = (Path(args.out) / "plotly.min.js").stat().st_size
    print(f"wrote {args.out}: index.html and {pages} pages, {size / 2**20:.1f} MB in all "
          f"(plotly.min.js {plotly_js / 2**20:.1f} MB of it, once for the folder)")
    return 0
