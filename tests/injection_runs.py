"""Run files whose every string field holds markdown links, images and HTML (shared by the AppTest and the
browser injection tests). ``evil.example`` is a reserved name: no request to it can succeed."""

from __future__ import annotations

import io
import json

import numpy as np

from rnnviz.config import ExperimentConfig
from rnnviz.io import run_to_bytes
from rnnviz.trainer import Trainer

HOST = "evil.example"
MARKUP = (f"[click](https://{HOST}/a) ![t](https://{HOST}/t.png) <a href='https://{HOST}/h'>x</a> "
          f"<img src='https://{HOST}/i.png'> https://{HOST}/u www.{HOST} me@{HOST} :material/home: **b**")
FILE_NAME = f"[x](https\u2215{HOST}) <img src=x>.npz"  # a file name cannot hold '/': the look-alike slash
CONFIG = ExperimentConfig(cell="lstm", seq_len=12, hidden_size=8, batch_size=4, probe_size=2, seed=3)


def _arrays(history) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(run_to_bytes(history))) as z:
        return {k: z[k] for k in z.files}


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def poisoned_runs(state: str = "diverged") -> tuple[bytes, bytes]:
    """(accepted, refused): a valid run whose status reason is ``MARKUP`` (a one-line text is allowed),
    and one whose every string field (reason, gate and parameter names, config, meta lists) holds it."""
    t = Trainer(CONFIG)
    t.step(6)
    arrays = _arrays(t.history)
    meta = json.loads(str(arrays["meta_json"][()]))
    meta["status"] = {"state": state, "reason": MARKUP[:200], "diverged_step": 5 if state == "diverged" else None}
    accepted = _npz({**arrays, "meta_json": np.array(json.dumps(meta))})
    bad = dict(meta, gate_names=[MARKUP, "f", "g", "o"], param_blocks=[MARKUP] + meta["param_blocks"][1:],
               light=meta["light"] + [MARKUP], heavy=meta["heavy"] + [MARKUP], probe=meta["probe"] + [MARKUP])
    poisoned = {**arrays, "meta_json": np.array(json.dumps(bad)),
                "config_json": np.array(json.dumps({**json.loads(CONFIG.to_json()), "corpus": MARKUP}))}
    poisoned[f"full/gate_{MARKUP[:20]}"] = arrays["full/gate_i"]
    return accepted, _npz(poisoned)
