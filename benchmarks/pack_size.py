"""Size of the default lecture pack (issue 17): every preset, 500 steps, the lockstep page.

    python benchmarks/pack_size.py [--steps 500] [--out DIR]

Runs ``python -m rnnviz pack --preset all --steps 500`` (the README's command) into a temporary folder
(or ``--out``) and prints each file's size and the total; the issue's budget is 20 MB for the folder.
Sizes, not times: they do not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.cli import main  # noqa: E402

BUDGET_MB = 20.0


def run(steps: int, out: Path) -> float:
    t0 = time.perf_counter()
    code = main(["pack", "--preset", "all", "--steps", str(steps), "--out", str(out), "--quiet"])
    if code != 0:
        raise SystemExit(code)
    print(f"\npacked in {time.perf_counter() - t0:.0f} s (one torch thread)")
    total = 0
    for f in sorted(out.iterdir(), key=lambda p: -p.stat().st_size):
        size = f.stat().st_size
        total += size
        print(f"{f.name:<24} {size / 2**20:8.2f} MB")
    mb = total / 2**20
    print(f"{'total':<24} {mb:8.2f} MB  (budget {BUDGET_MB:g} MB: {'within' if mb < BUDGET_MB else 'OVER'})")
    return mb


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    if a.out is not None:
        run(a.steps, a.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(a.steps, Path(tmp) / "lecture")
