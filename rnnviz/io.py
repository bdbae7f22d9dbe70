"""Runs on disk: one ``.npz`` per run (arrays + JSON, never pickle), and CSV exports of recorded tensors.

File layout (``np.savez_compressed``; every entry a plain numeric or unicode array)::

    format            () <U   "rnnviz-run"
    format_version    () int64 FORMAT_VERSION
    config_json       () <U   ExperimentConfig.to_json() ("" when the run has no config)
    meta_json         () <U   RunHistory.to_arrays() meta: status, layout names
    scalar/<name>     (n,)    per-step scalars (recording.SCALARS)
    rec/step          (S,)    recorded steps; rec/<field> (S, ...) gradient-norm curves, spectra
    param/<block>     (S, Lyr, D) per-gate parameter gradient norms
    full/ordinal      (R,)    which records keep probe tensors; full/<name> (R, ...) float16/32
    probe/<name>      the fixed probe batch

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
from pathlib import Path
from typing import BinaryIO

import numpy as np

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.recording import RunHistory
from rnnviz.runfile import check_layout

__all__ = ["save_run", "load_run", "run_to_bytes", "history_to_csv", "FORMAT", "FORMAT_VERSION",
           "MAX_FILE_BYTES", "MAX_UNPACKED_BYTES", "CSV_VIEWS"]

FORMAT = "rnnviz-run"
FORMAT_VERSION = 1
# 200 MB: a 5,000-step default run compresses to far less; an upload larger than this is not ours.
MAX_FILE_BYTES = 200 * 2**20
# 256 MB unpacked: a live history stays well below this (its probe tensors are budgeted at 128 MB,
# recording.HEAVY_BUDGET_BYTES); more means a zip bomb or a foreign file. Each array is moreover
# exactly the shape its config implies (runfile.check_layout), checked before it is read.
MAX_UNPACKED_BYTES = 256 * 2**20
# config_json / meta_json: a few KB in a real run.
MAX_TEXT_CHARS = 65_536
_HEADER_KEYS = ("format", "format_version", "config_json", "meta_json")
# Entries whose names we never read are still capped, so a foreign file cannot hide a huge member.
MAX_ENTRIES = 10_000


def run_to_bytes(history: RunHistory) -> bytes:
    """The ``.npz`` file of a run, as bytes (for downloads)."""
    buf = _io.BytesIO()
    save_run(history, buf)
    return buf.getvalue()


def save_run(history: RunHistory, dest: str | os.PathLike | BinaryIO) -> None:
    """Write ``history`` (with its config) to a path or binary file object as compressed npz."""
    meta, arrays = history.to_arrays()
    config = history.config
    payload = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config_json": np.array(config.to_json() if config is not None else ""),
        "meta_json": np.array(json.dumps(meta, sort_keys=True)),
        **arrays,
    }
    if isinstance(dest, str | os.PathLike):
        # np.savez appends ".npz" to a path without it; write through a file object to keep the name.
        with open(dest, "wb") as f:
            np.savez_compressed(f, **payload)
    else:
        np.savez_compressed(dest, **payload)


def load_run(source: str | os.PathLike | bytes | bytearray | BinaryIO) -> RunHistory:
    """Read a run saved by :func:`save_run`; ``history.config`` is its ExperimentConfig (or None).

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
    _check_header(arrays)
    config = _parse_config(str(arrays["config_json"][()]))
    try:
        meta = json.loads(str(arrays["meta_json"][()]))
    except json.JSONDecodeError as e:
        raise RnnvizError(f"meta_json must be valid JSON, got a parse error: {e}") from None
    body = {k: v for k, v in declared.items() if k not in _HEADER_KEYS}
    try:
        check_layout(meta, body, config)
    except RnnvizError as e:
        raise RnnvizError(f"not a valid run file: {e}") from None
    arrays = _load_arrays(data, list(body))
    try:
        return RunHistory.from_arrays(meta, arrays, config=config)
    except RnnvizError as e:
        raise RnnvizError(f"not a valid run file: {e}") from None
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:  # anything else odd in it
        raise RnnvizError(f"not a valid run file: inconsistent arrays ({type(e).__name__}: {e})") from None


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


def _check_header(arrays: dict[str, np.ndarray]) -> None:
    for key in ("format", "format_version", "config_json", "meta_json"):
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
    if int(v) != FORMAT_VERSION:
        raise RnnvizError(f"run file format version must be {FORMAT_VERSION}, got {int(v)} "
                          f"(saved by {'a newer' if int(v) > FORMAT_VERSION else 'an older'} rnnviz)")


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
