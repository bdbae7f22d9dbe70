"""A lecture pack: recorded runs as a folder of static pages that need no server (issue 17).

    python -m rnnviz pack --preset all --steps 500 --out lecture/

writes ``index.html`` (the runs, each with its preset's effect text), one ``<name>.html`` per run, a
``lockstep.html`` comparing RNN, LSTM and GRU on one scrubber, and once for the whole folder
``plotly.min.js`` (from the installed plotly package), ``pack.js`` and ``pack.css``. Pages read their data
from a JSON block inside themselves (``<`` written as ``\\u003c``, so no ``</script>`` can end it early), so
they work opened from disk (``file://``) and from any static HTTP host; nothing is fetched from the network.
Every text is escaped (``html.escape`` here, ``textContent`` in ``pack.js``); what a page shows per frame is
built in :mod:`rnnviz.pack.pages`.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.pack.pages import MAX_FRAMES, MAX_HEAVY, lockstep_page, run_page

__all__ = ["PackRun", "train", "preset_run", "config_run", "history_run", "lockstep_trainers", "pack_files",
           "write_pack", "pack_zip", "embed_json"]

#: Steps per Trainer.step() call while recording (as the CLI's train loop).
CHUNK = 10
LOCKSTEP_CELLS = ("rnn_tanh", "lstm", "gru")
#: progress(label, steps done, steps in total, last loss or None)
Progress = Callable[[str, int, int, "float | None"], None]


@dataclass
class PackRun:
    """One run of a pack: its file name stem, title, effect text and recorded history."""

    slug: str
    title: str
    history: object
    effect: str = ""
    baseline: float | None = None
    metric_name: str | None = None
    notes: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A safe file name stem: lower-case letters, digits and '-' only (never a path)."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:60]
    return s or "run"


def train(config, data=None, progress: Progress | None = None, label: str = ""):
    """Train ``config`` for its ``max_steps`` with the Trainer, as ``python -m rnnviz train`` does (the
    watchdog's pause is for the live app: a headless run goes on); returns the Trainer."""
    from rnnviz.trainer import Trainer

    trainer = Trainer(config, data)
    total = config.max_steps
    while trainer.step_count < total:
        recs = trainer.step(min(CHUNK, total - trainer.step_count))
        if progress is not None and recs:
            progress(label, trainer.step_count, total, recs[-1].loss)
        if trainer.state in ("diverged", "finished"):
            break
    return trainer


def _run_of(trainer, slug_: str, title: str, effect: str) -> PackRun:
    task = trainer.task
    return PackRun(slug_, title, trainer.history, effect, task.baseline_loss, task.metric_name,
                   [f"{len(trainer.history)} training steps, state {trainer.state}"
                    + (f" ({trainer.reason})" if trainer.reason else "") + "."])


def preset_run(name: str, steps: int, progress: Progress | None = None) -> PackRun:
    """A named preset recorded for ``steps`` steps."""
    from rnnviz.config import PRESETS

    if name not in PRESETS:
        raise RnnvizError(f"preset must be one of {', '.join(PRESETS)} or all, got {name!r}")
    p = PRESETS[name]
    return _run_of(train(p.config.replace(max_steps=steps), None, progress, name), slug(name), p.title, p.effect)


def config_run(config, name: str, data=None, progress: Progress | None = None) -> PackRun:
    """A config (e.g. from ``--config FILE``) recorded for its ``max_steps``."""
    return _run_of(train(config, data, progress, name), slug(name), name, "")


def history_run(history, name: str, effect: str = "", task=None) -> PackRun:
    """A run already recorded (a saved run file, or the app's session). ``task`` gives the chance baseline;
    without it the baseline is the task's own for every task whose data is not the user's (not charlm/csv)."""
    if task is None and history.config is not None and history.config.task not in ("charlm", "csv"):
        from rnnviz.tasks import make_task

        task = make_task(history.config)
    status = history.status
    note = f"{len(history)} training steps, state {status.get('state', '')}" + (
        f" ({status['reason']})" if status.get("reason") else "") + "."
    return PackRun(slug(name), name, history, effect, getattr(task, "baseline_loss", None),
                   getattr(task, "metric_name", None), [note])


def lockstep_trainers(base, data=None, progress: Progress | None = None) -> dict:
    """RNN, LSTM and GRU with ``base``'s config but the cell (same task, seed, batches), each trained for
    ``base.max_steps`` steps (the Compare page's runs, recorded headless)."""
    return {c: train(base.replace(cell=c), data, progress, f"lockstep {cells.get(c).label}") for c in LOCKSTEP_CELLS}


# ------------------------------------------------------------------------------------------ files
def embed_json(obj) -> str:
    """JSON for a ``<script type="application/json">`` block: every ``<`` as ``\\u003c`` (valid JSON, and
    no ``</script>`` or ``<!--`` inside the block)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><link rel=\"stylesheet\" href=\"pack.css\"></head>"
            f"<body>{body}</body></html>\n")


def page_html(page: dict) -> str:
    """A run or lockstep page: controls, the frame's lines, one div per panel, the data, the scripts."""
    e = html.escape
    panels = "".join(f"<div class=\"panel\" id=\"panel-{e(p['id'])}\"></div>" for p in page["panels"])
    config = f"<h2>Config</h2><pre>{e(page['config'])}</pre>" if page["config"] else ""
    body = ("<p><a href=\"index.html\">← all runs</a></p>"
            f"<h1>{e(page['title'])}</h1>" + "".join(f"<p>{e(x)}</p>" for x in page["intro"])
            + "<div class=\"controls\"><button id=\"play\" type=\"button\">▶ play</button>"
            "<input id=\"step-slider\" type=\"range\" min=\"0\" max=\"0\" value=\"0\" step=\"1\" "
            "aria-label=\"training step\"><span id=\"step-label\"></span></div>"
            "<ul id=\"lines\"></ul>" + panels + config
            + f"<script id=\"rnnviz-data\" type=\"application/json\">{embed_json(page)}</script>"
            "<script src=\"plotly.min.js\"></script><script src=\"pack.js\"></script>")
    return _document(page["title"], body)


def index_html(runs: list[PackRun], lockstep: str | None) -> str:
    """The folder's front page: every run with its effect text, and the lockstep page."""
    e = html.escape
    items = "".join(f"<li><a href=\"{e(r.slug)}.html\">{e(r.title)}</a>"
                    + (f"<br>{e(r.effect)}" if r.effect else "")
                    + "".join(f"<br><span class=\"note\">{e(n)}</span>" for n in r.notes) + "</li>"
                    for r in runs)
    lock = (f"<h2>Side by side</h2><ul class=\"runs\"><li><a href=\"lockstep.html\">RNN, LSTM and GRU on one "
            f"scrubber</a><br>{e(lockstep)}</li></ul>") if lockstep is not None else ""
    body = ("<h1>rnnviz lecture pack</h1><p class=\"note\">Recorded runs, replayed in your browser: pick a "
            "training step with the slider or press play. Nothing here needs a server or the network.</p>"
            f"<h2>Runs</h2><ul class=\"runs\">{items}</ul>{lock}")
    return _document("rnnviz lecture pack", body)


def _assets() -> dict[str, str]:
    import plotly.offline

    here = resources.files("rnnviz.pack")
    return {"plotly.min.js": plotly.offline.get_plotlyjs(), "pack.js": here.joinpath("page.js").read_text("utf-8"),
            "pack.css": here.joinpath("page.css").read_text("utf-8")}


def pack_files(runs: list[PackRun], lockstep: dict | None = None, max_frames: int = MAX_FRAMES,
               max_heavy: int = MAX_HEAVY) -> dict[str, str]:
    """File name -> text of the whole folder (plotly.js once, whatever the number of pages)."""
    names = [r.slug for r in runs]
    if len(set(names)) != len(names) or "index" in names or "lockstep" in names:
        raise RnnvizError(f"run names must be distinct and not 'index' or 'lockstep', got {', '.join(names)}")
    files = _assets()
    for r in runs:
        page = run_page(r.history, title=r.title, intro=[r.effect, *r.notes] if r.effect else r.notes,
                        baseline=r.baseline, metric_name=r.metric_name, max_frames=max_frames, max_heavy=max_heavy)
        files[f"{r.slug}.html"] = page_html(page)
    lock_text = None
    if lockstep:
        any_run = next(iter(lockstep.values()))
        lock_text = (f"Same config, seed and batches, only the cell differs "
                     f"({', '.join(cells.get(c).label for c in lockstep)}; {any_run.config.max_steps} steps).")
        page = lockstep_page(lockstep, title="RNN, LSTM and GRU in lockstep", intro=[lock_text],
                             baseline=any_run.task.baseline_loss, max_frames=max_frames)
        page["config"] = any_run.config.to_json()
        files["lockstep.html"] = page_html(page)
    files["index.html"] = index_html(runs, lock_text)
    return files


def write_pack(out, runs: list[PackRun], lockstep: dict | None = None, max_frames: int = MAX_FRAMES) -> int:
    """Write the folder ``out`` (created if needed); returns its size in bytes."""
    out = Path(out)
    files = pack_files(runs, lockstep, max_frames)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
    except OSError as e:
        raise RnnvizError(f"pack output must be a writable folder, got {str(out)!r} ({e.strerror})") from None
    return sum(len(t.encode("utf-8")) for t in files.values())


def pack_zip(runs: list[PackRun], folder: str = "rnnviz-pack", max_frames: int = MAX_FRAMES,
             max_heavy: int = MAX_HEAVY) -> bytes:
    """The same folder as one zip (for the app's download button): unzip, open ``index.html``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in pack_files(runs, None, max_frames, max_heavy).items():
            z.writestr(f"{slug(folder)}/{name}", text)
    return buf.getvalue()
