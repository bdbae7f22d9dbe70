"""Runs on disk: one ``.npz`` per run (arrays + JSON, never pickle), and CSV exports of recorded tensors.

File layout (``np.savez_compressed``; every entry a plain numeric or unicode array)::

    format            () <U   "rnnviz-run"
    format_version    () int64 FORMAT_VERSION (2; version-1 files, which have no runs_json, still load)
    config_json       () <U   ExperimentConfig.to_json() ("" when the run has no config)
    meta_json         () <U   RunHistory.to_arrays() meta: status, layout names
    runs_json         () <U   the branches (version 2): a JSON list, one object per branch,
                              {"name", "parent", "branch_step", "config" (its to_json()), "meta"}
    scalar/<name>     (n,)    per-step scalars (recording.SCALARS)
    rec/step          (S,)    recorded steps; rec/<field> (S, ...) gradient-norm curves, spectra
    param/<block>     (S, Lyr, D) per-gate parameter gradient norms
    full/ordinal      (R,)    which records keep probe tensors; full/<name> (R, ...) float16/32
    probe/<name>      the fixed probe batch
    branch/<k>/...    the k-th branch's arrays (k = 1, 2, ...), laid out as above with its own config

Loading is defensive: a size limit on the file and on its unpacked arrays (zip bombs), ``allow_pickle=
False`` (object arrays are refused, never unpickled), and every key, dtype and shape checked, so a
malformed, truncated, oversized or foreign file raises :class:`RnnvizError` with the reason.
"""

from __future__ import annotations

import io as _io
import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from rnnviz import branches as _branches
from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.recording import RunHistory
from rnnviz.runfile import check_layout

__all__ = ["save_run", "load_run", "load_runs", "run_to_bytes", "history_to_csv", "SavedRun", "FORMAT",
           "FORMAT_VERSION", "READABLE_VERSIONS", "MAX_FILE_BYTES", "MAX_UNPACKED_BYTES", "CSV_VIEWS"]

FORMAT = "rnnviz-run"
#: 2: a run file also holds the run's branches (runs_json, branch/<k>/...). 1: the run alone.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
# 200 MB: a 5,000-step default run compresses to far less; an upload larger than this is not ours.
MAX_FILE_BYTES = 200 * 2**20
# 256 MB unpacked: a live history stays well below this (its probe tensors are budgeted at 128 MB,
# recording.HEAVY_BUDGET_BYTES); more means a zip bomb or a foreign file. Each array is moreover
# exactly the shape its config implies (runfile.check_layout), checked before it is read.
MAX_UNPACKED_BYTES = 256 * 2**20
# config_json / meta_json: a few KB in a real run.
MAX_TEXT_CHARS = 65_536
_HEADER_KEYS = ("format", "format_version", "config_json", "meta_json")
_RUNS_KEY = "runs_json"  # version 2
_BRANCH_PREFIX = "branch/"


@dataclass(frozen=True)
class SavedRun:
    """One run of a file: the original (``parent`` None, ``branch_step`` 0) or a branch of ``parent`` that
    continues from the checkpoint of ``branch_step`` (its ``history`` holds the steps before it too)."""

    name: str
    history: RunHistory
    parent: str | None = None
    branch_step: int = 0
# Entries whose names we never read are still capped, so a foreign file cannot hide a huge member.
MAX_ENTRIES = 10_000


def run_to_bytes(history: RunHistory, branches=()) -> bytes:
    """The ``.npz`` file of a run (and its ``branches``, see :func:`save_run`), as bytes (for downloads)."""
    buf = _io.BytesIO()
    save_run(history, buf, branches)
    return buf.getvalue()


def save_run(history: RunHistory, dest: str | os.PathLike | BinaryIO, branches=()) -> None:
    """Write ``history`` (with its config) to a path or binary file object as compressed npz.

    ``branches``: the run's branches, each with ``name``, ``parent`` (``"original"`` or an earlier
    branch's name), ``branch_step`` and ``history`` (a :class:`rnnviz.branches.NamedRun` or a
    :class:`SavedRun`), at most ``rnnviz.branches.MAX_BRANCHES``.
    """
    meta, arrays = history.to_arrays()
    config = history.config
    branches = list(branches)
    if len(branches) > _branches.MAX_BRANCHES:
        raise RnnvizError(f"a run file holds at most {_branches.MAX_BRANCHES} branches, got {len(branches)}")
    runs = []
    for k, b in enumerate(branches, start=1):
        b_meta, b_arrays = b.history.to_arrays()
        runs.append({"name": b.name, "parent": b.parent, "branch_step": int(b.branch_step),
                     "config": b.history.config.to_json(), "meta": b_meta})
        arrays.update({f"{_BRANCH_PREFIX}{k}/{key}": a for key, a in b_arrays.items()})
    payload = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config_json": np.array(config.to_json() if config is not None else ""),
        "meta_json": np.array(json.dumps(meta, sort_keys=True)),
        _RUNS_KEY: np.array(json.dumps(runs, sort_keys=True)),
        **arrays,
    }
    if isinstance(dest, str | os.PathLike):
        # np.savez appends ".npz" to a path without it; write through a file object to keep the name.
        with open(dest, "wb") as f:
            np.savez_compressed(f, **payload)
    else:
        np.savez_compressed(dest, **payload)


def load_run(source: str | os.PathLike | bytes | bytearray | BinaryIO) -> RunHistory:
    """The original run of a file saved by :func:`save_run` (:func:`load_runs` also gives its branches)."""
    return load_runs(source)[0].history


def load_runs(source: str | os.PathLike | bytes | bytearray | BinaryIO) -> list[SavedRun]:
    """Read a run saved by :func:`save_run`: ``[original, *branches]`` as :class:`SavedRun`;
    ``history.config`` is each run's ExperimentConfig (or None for a config-less original).

    Nothing is allocated for an array before its declared shape and dtype are known to be the ones
    the run's config and metadata imply (:func:`check_layout`), read from each ``.npy`` header
    inside the zip without reading its data. Raises RnnvizError (never anything else for a bad
    file) when the file is missing, too large, not a zip/npz, holds object (pickled) arrays or
    arrays it should not, lacks our keys, has another format version, or declares any array of
    another dtype or shape.
    """
    data = _read_bytes(source)
    declared = _declared_arrays(data)
    head = {k: declared.get(k) for k in _HEADER_KEYS}
    _check_header_declared(head, declared)
    arrays = _load_arrays(data, list(_HEADER_KEYS))
    version = _check_header(arrays)
    header = list(_HEADER_KEYS)
    if version >= 2:
        _check_header_declared({_RUNS_KEY: declared.get(_RUNS_KEY)}, declared)
        if declared[_RUNS_KEY][1].kind != "U":
            raise RnnvizError(f"{_RUNS_KEY} must be a text scalar, got {declared[_RUNS_KEY][1]}")
        header.append(_RUNS_KEY)
        runs_text = str(_load_arrays(data, [_RUNS_KEY])[_RUNS_KEY][()])
    config = _parse_config(str(arrays["config_json"][()]))
    try:
        meta = json.loads(str(arrays["meta_json"][()]))
    except json.JSONDecodeError as e:
        raise RnnvizError(f"meta_json must be valid JSON, got a parse error: {e}") from None
    body = {k: v for k, v in declared.items() if k not in header}
    original = {k: v for k, v in body.items() if not k.startswith(_BRANCH_PREFIX)}
    specs = _branch_specs(runs_text, config) if version >= 2 else []
    parts = [(None, "", meta, config, original)]
    for k, spec in enumerate(specs, start=1):
        prefix = f"{_BRANCH_PREFIX}{k}/"
        parts.append((spec, prefix, spec["meta"], spec["config"],
                      {name[len(prefix):]: v for name, v in body.items() if name.startswith(prefix)}))
    claimed = sum(len(p[-1]) for p in parts)
    if claimed != len(body):
        extra = sorted(n for n in body if n.startswith(_BRANCH_PREFIX)
                       and not any(n.startswith(f"{_BRANCH_PREFIX}{k}/") for k in range(1, len(specs) + 1)))
        holds = (f"holds arrays only for the {len(specs)} branch(es) runs_json lists" if version >= 2
                 else "of format version 1 holds no branches")
        raise RnnvizError(f"not a valid run file: a run file {holds}, got also {extra[:3]}")
    runs = []
    for spec, prefix, run_meta, run_config, run_declared in parts:
        what = "" if spec is None else f"branch {spec['name']!r}: "
        try:
            check_layout(run_meta, run_declared, run_config)
        except RnnvizError as e:
            raise RnnvizError(f"not a valid run file: {what}{e}") from None
        loaded = _load_arrays(data, [prefix + name for name in run_declared])
        history = _history(run_meta, {name[len(prefix):]: a for name, a in loaded.items()}, run_config, what)
        if spec is None:
            runs.append(SavedRun(_branches.ORIGINAL, history))
        else:
            runs.append(SavedRun(spec["name"], history, spec["parent"], spec["branch_step"]))
    return runs


def _history(meta: dict, arrays: dict, config, what: str) -> RunHistory:
    try:
        return RunHistory.from_arrays(meta, arrays, config=config)
    except RnnvizError as e:
        raise RnnvizError(f"not a valid run file: {what}{e}") from None
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:  # anything else odd in it
        raise RnnvizError(f"not a valid run file: {what}inconsistent arrays ({type(e).__name__}: {e})") from None


_BRANCH_KEYS = ("branch_step", "config", "meta", "name", "parent")


def _branch_specs(text: str, original_config) -> list[dict]:
    """runs_json, checked: at most MAX_BRANCHES entries, each with exactly ``_BRANCH_KEYS``; a unique name
    (1..MAX_NAME_CHARS printable characters, not "original"); a parent that is "original" or an earlier
    branch; a config that differs from the original's only in branch knobs (so every branch array has the
    original's shapes) with ``max_steps`` above an integer ``branch_step >= 0``; a metadata object.
    Returns the entries with ``config`` parsed."""
    try:
        runs = json.loads(text)
    except json.JSONDecodeError as e:
        raise RnnvizError(f"runs_json must be valid JSON, got a parse error: {e}") from None
    if not isinstance(runs, list) or len(runs) > _branches.MAX_BRANCHES:
        got = f"{len(runs)} entries" if isinstance(runs, list) else type(runs).__name__
        raise RnnvizError(f"runs_json must be a list of at most {_branches.MAX_BRANCHES} branches, got {got}")
    if runs and original_config is None:
        raise RnnvizError("a run file with branches must contain its config (config_json), got none")
    names = [_branches.ORIGINAL]
    out = []
    for k, spec in enumerate(runs, start=1):
        if not isinstance(spec, dict) or sorted(spec) != list(_BRANCH_KEYS):
            keys = sorted(spec)[:8] if isinstance(spec, dict) else type(spec).__name__
            raise RnnvizError(f"runs_json entry {k} must have exactly the keys {list(_BRANCH_KEYS)}, got {keys}")
        name = _branches.check_name(spec["name"])
        if name in names:
            raise RnnvizError(f"runs_json names each run once, got {name!r} twice")
        if spec["parent"] not in names:
            raise RnnvizError(f"runs_json entry {k}'s parent must be one of {names}, got {str(spec['parent'])[:40]!r}")
        step = spec["branch_step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise RnnvizError(f"runs_json entry {k}'s branch_step must be an integer >= 0, got {str(step)[:40]!r}")
        if not isinstance(spec["config"], str) or not isinstance(spec["meta"], dict):
            raise RnnvizError(f"runs_json entry {k} must hold its config as JSON text and its meta as an object")
        config = _parse_config(spec["config"])
        if config is None:
            raise RnnvizError(f"runs_json entry {k} must carry its config, got none")
        try:
            _branches.check_branch_config(original_config, config, step)
        except RnnvizError as e:
            raise RnnvizError(f"runs_json entry {k} ({name!r}): {e}") from None
        names.append(name)
        out.append({**spec, "config": config})
    return out


def _declared_arrays(data: bytes) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """name -> (shape, dtype) of every array in the npz, from the ``.npy`` headers alone.

    Checks, before any array is read: at most MAX_ENTRIES members, all ``.npy``, no name twice,
    at most MAX_UNPACKED_BYTES unpacked in all, a plain numeric / bool / text dtype (no objects,
    so nothing is ever unpickled), and a declared shape whose size is exactly the member's data
    (so a header claiming ``(2**40,)`` for a few bytes is refused, not allocated).
    """
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise RnnvizError(f"a run file has at most {MAX_ENTRIES} arrays, got {len(infos)}")
            unpacked = sum(i.file_size for i in infos)
            if unpacked > MAX_UNPACKED_BYTES:
                raise RnnvizError(f"a run file unpacks to at most {MAX_UNPACKED_BYTES:,} bytes "
                                  f"({MAX_UNPACKED_BYTES // 2**20} MB), got {unpacked:,} "
                                  f"(not a run, or a zip bomb)")
            bad = [i.filename for i in infos if not i.filename.endswith(".npy")]
            if bad:
                raise RnnvizError(f"a run file holds only .npy arrays, got {bad[:3]}")
            names = [i.filename[: -len(".npy")] for i in infos]
            if len(set(names)) != len(names):
                raise RnnvizError("a run file names each array once, got "
                                  f"{sorted({n for n in names if names.count(n) > 1})[:3]} twice")
            return {name: _declared(zf, info, name) for name, info in zip(names, infos, strict=True)}
    except zipfile.BadZipFile as e:
        raise RnnvizError(f"not a run file: expected an .npz (zip) archive, "
                          f"got {_describe(data)} ({e})") from None


def _declared(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from one member's ``.npy`` header (magic + header dict; no data read)."""
    try:
        with zf.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise RnnvizError(f"array {name!r} must be an .npy of format 1.0 or 2.0, got {version}")
            header_bytes = fp.tell()
    except RnnvizError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise RnnvizError(f"not a valid run file: the header of array {name!r} could not be read "
                          f"({type(e).__name__}: {e})") from None
    if dtype.hasobject:
        raise RnnvizError("run files hold numeric arrays only, "
                          f"got an object (pickled) array {name!r}: refused")
    if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in "biufcU":
        raise RnnvizError(f"array {name!r} must be numeric, bool or text, got dtype {dtype}")
    nbytes = math.prod(shape) * dtype.itemsize
    if header_bytes + nbytes != info.file_size:
        raise RnnvizError(f"array {name!r} declares shape {shape} of {dtype} ({nbytes:,} bytes) but holds "
                          f"{info.file_size - header_bytes:,} bytes of data")
    return tuple(int(d) for d in shape), dtype


def _check_header_declared(head: dict, declared: dict) -> None:
    """The four header entries exist and are small scalars (checked before they are read)."""
    for key, spec in head.items():
        if spec is None:
            raise RnnvizError(f"not an rnnviz run: the file must contain {key!r}; it has "
                              f"{sorted(declared)[:6]}")
        shape, dtype = spec
        if shape != ():
            raise RnnvizError(f"{key} must be a text scalar, got {dtype}{shape}" if key != "format_version"
                              else f"{key} must be an integer scalar, got {dtype}{shape}")
        if dtype.kind == "U" and dtype.itemsize > 4 * MAX_TEXT_CHARS:
            raise RnnvizError(f"{key} must be at most {MAX_TEXT_CHARS:,} characters, "
                              f"got {dtype.itemsize // 4:,}")


def _read_bytes(source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as e:
            raise RnnvizError(f"run file must exist and be readable, "
                              f"got {str(path)!r} ({e.strerror})") from None
        if size > MAX_FILE_BYTES:
            raise RnnvizError(f"run files are at most {MAX_FILE_BYTES} bytes, got {size}")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise RnnvizError(f"run file must be readable, got {str(path)!r} ({e.strerror})") from None
    elif hasattr(source, "read"):
        data = source.read(MAX_FILE_BYTES + 1)
        if isinstance(data, str):
            raise RnnvizError("run file must be opened in binary mode, got a text stream")
    else:
        raise RnnvizError(f"run source must be a path, bytes or a binary file, got {type(source).__name__}")
    if len(data) > MAX_FILE_BYTES:
        raise RnnvizError(f"run files are at most {MAX_FILE_BYTES} bytes, got {len(data)} or more")
    if not data:
        raise RnnvizError("run file is empty")
    return data


def _describe(data: bytes) -> str:
    return f"{len(data)} bytes starting {data[:8]!r}"


def _load_arrays(data: bytes, names: list[str]) -> dict[str, np.ndarray]:
    """Read the named arrays (their headers were checked by :func:`_declared_arrays`)."""
    try:
        with np.load(_io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in names}
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise RnnvizError("run files hold numeric arrays only, "
                              "got an object (pickled) array: refused") from None
        raise RnnvizError(f"not a valid run file: an array could not be read ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, TypeError) as e:
        raise RnnvizError(f"not a valid run file: an array could not be read "
                          f"({type(e).__name__}: {e})") from None


def _check_header(arrays: dict[str, np.ndarray]) -> int:
    """The header's format and version (returned: one of READABLE_VERSIONS), else RnnvizError."""
    for key in _HEADER_KEYS:
        if key not in arrays:
            raise RnnvizError(f"not an rnnviz run: the file must contain {key!r}; it has "
                              f"{sorted(arrays)[:6]}")
    for key in ("format", "config_json", "meta_json"):
        if arrays[key].shape != () or arrays[key].dtype.kind != "U":
            raise RnnvizError(f"{key} must be a text scalar, got {arrays[key].dtype}{arrays[key].shape}")
    if str(arrays["format"][()]) != FORMAT:
        got = str(arrays["format"][()])[:40]
        raise RnnvizError(f"not an rnnviz run: format must be {FORMAT!r}, got {got!r}")
    v = arrays["format_version"]
    if v.shape != () or v.dtype.kind not in "iu":
        raise RnnvizError(f"format_version must be an integer scalar, got {v.dtype}{v.shape}")
    if int(v) not in READABLE_VERSIONS:
        raise RnnvizError(f"run file format version must be {' or '.join(map(str, READABLE_VERSIONS))}, got {int(v)} "
                          f"(saved by {'a newer' if int(v) > FORMAT_VERSION else 'an older'} rnnviz)")
    return int(v)


def _parse_config(text: str):
    if not text:
        return None
    from rnnviz.config import ExperimentConfig

    try:
        return ExperimentConfig.from_json(text)
    except RnnvizError as e:
        raise RnnvizError(f"the run's config is not valid: {e}") from None
    except (TypeError, ValueError) as e:
        raise RnnvizError(f"the run's config is not valid: {e}") from None


# ---------------------------------------------------------------------------------------- CSV
#: Views :func:`history_to_csv` can export.
CSV_VIEWS = ("scalars", "grad_norms", "cell_grad_norms", "input_grad_norms", "spectrum",
             "hidden", "cell", "gate", "prediction")


def history_to_csv(history: RunHistory, view: str, *, step: int | None = None, layer: int = 0,
                   direction: int = 0, sample: int = 0, gate: str | None = None) -> str:
    """CSV text of one view of a run (for download buttons).

    - ``scalars``: one row per step: step, loss, metric, grad_norm, grad_norm_clipped, clipped, lr, finite.
    - ``grad_norms`` / ``cell_grad_norms``: one row per recorded step, columns t=1..L (layer, direction).
    - ``input_grad_norms``: one row per recorded step, columns t=1..L.
    - ``spectrum``: at the record at or before ``step`` (default: last): block, k, sigma_k, Re, Im,
      |lambda_k| of every W_hh gate block.
    - ``hidden`` / ``cell`` / ``gate`` (with ``gate=`` name) at the full record at or before ``step``:
      rows t=1..L (with the step it comes from), columns unit 1..H, for probe ``sample``, ``layer``,
      ``direction``.
    - ``prediction``: rows t=1..L, one column per output, for probe ``sample``.
    """
    if view not in CSV_VIEWS:
        raise RnnvizError(f"CSV view must be one of {', '.join(CSV_VIEWS)}, got {view!r}")
    if view == "scalars":
        return _scalars_csv(history)
    if view in _GRAD_KINDS:
        return _grad_norms_csv(history, _GRAD_KINDS[view], layer, direction)
    when = int(history.steps[-1]) if step is None and len(history) else (step if step is not None else 0)
    rec = history.record_at(when, full=view != "spectrum")
    if rec is None:
        raise RnnvizError(f"no recorded step at or before step {when} holds the {view} view")
    if view == "spectrum":
        return _spectrum_csv(rec, history, layer, direction)
    if view == "prediction":
        _check_index("sample", sample, rec.prediction.shape[0])
        return _table(["t"] + [f"output{o + 1}" for o in range(rec.prediction.shape[2])],
                      ([t + 1, *row] for t, row in enumerate(rec.prediction[sample])))  # (L, O)
    return _state_csv(rec, view, gate, layer, direction, sample)


#: grad-norm view -> RunHistory.grad_norm_matrix kind
_GRAD_KINDS = {"grad_norms": "hidden", "cell_grad_norms": "cell", "input_grad_norms": "input"}


def _table(header: list[str], rows) -> str:
    out = _io.StringIO()
    out.write(",".join(header) + "\n")
    for row in rows:
        out.write(",".join(_fmt(v) for v in row) + "\n")
    return out.getvalue()


def _scalars_csv(history: RunHistory) -> str:
    sc = history.scalars
    cols = [sc[n].astype(int) if sc[n].dtype == np.bool_ else sc[n] for n in sc]
    return _table(list(sc), zip(*cols, strict=True))


def _grad_norms_csv(history: RunHistory, kind: str, layer: int, direction: int) -> str:
    m = history.grad_norm_matrix(layer, direction, kind=kind)  # (S, L)
    rows = ([int(s), *row] for s, row in zip(history.recorded_steps(), m, strict=True))
    return _table(["step"] + [f"t{t + 1}" for t in range(m.shape[1])], rows)


def _spectrum_csv(rec, history: RunHistory, layer: int, direction: int) -> str:
    sv_all = rec.singular_values  # (Lyr, D, G, H)
    _check_index("layer", layer, sv_all.shape[0])
    _check_index("direction", direction, sv_all.shape[1])
    sv, ev = sv_all[layer, direction], rec.eigenvalues[layer, direction]  # (G, H)
    blocks = _spectrum_blocks(history, sv.shape[0])
    rows = ([rec.step, name, k + 1, sv[g, k], complex(ev[g, k]).real, complex(ev[g, k]).imag, abs(complex(ev[g, k]))]
            for g, name in enumerate(blocks) for k in range(sv.shape[1]))
    return _table(["step", "block", "k", "singular_value", "eig_real", "eig_imag", "eig_abs"], rows)


def _state_csv(rec, view: str, gate: str | None, layer: int, direction: int, sample: int) -> str:
    """hidden / cell / gate of one probe sample: rows t = 1..L, columns unit 1..H."""
    if view == "gate":
        if gate not in (rec.gates or {}):
            raise RnnvizError(f"gate must be one of {sorted(rec.gates or {})}, got {gate!r}")
        arr = rec.gates[gate]
    else:
        arr = getattr(rec, view)
        if arr is None:
            raise RnnvizError(f"this run has no {view} tensor (cell states exist for the LSTM only)")
    for name, value, n in zip(("layer", "direction", "sample"), (layer, direction, sample), arr.shape, strict=False):
        _check_index(name, value, n)
    mat = arr[layer, direction, sample]  # (L, H)
    rows = ([rec.step, t + 1, *row] for t, row in enumerate(mat))
    return _table(["step", "t"] + [f"unit{j + 1}" for j in range(mat.shape[1])], rows)


def _spectrum_blocks(history: RunHistory, G: int) -> tuple[str, ...]:
    """Names of the G gate blocks of W_hh: the run's cell's blocks (numbers for an unknown layout)."""
    cell = cells.CELLS.get(getattr(history.config, "cell", None))
    return cell.blocks if cell is not None and len(cell.blocks) == G else tuple(str(g) for g in range(G))


def _check_index(name: str, value, n: int) -> None:
    """An index the user picked must be an integer in 0..n-1 (a negative one would wrap around)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < n:
        raise RnnvizError(f"{name} must be an integer in 0..{n - 1}, got {value!r}")


def _fmt(v) -> str:
    """Shortest text that reads back to the same float32/64 value (repr of the Python float)."""
    if isinstance(v, np.floating):
        return repr(float(v)) if v.dtype == np.float64 else str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)
