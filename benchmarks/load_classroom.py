"""A classroom on one server: N students (browser contexts in Debian's Chromium) press play at once.

Not part of the test suite (it runs for minutes and measures a loaded machine). It starts
`streamlit run app.py` on a free loopback port, then:
  1. warms the server with one session (imports, first figures) and reads the server's RSS: "start";
  2. opens N sessions, each with its own seed (small config), presses play in all, and samples every
     session's Step counter every few seconds for --seconds: per-session steps/s (median, worst),
     and whether every session advanced in every window (no starvation);
  3. pauses all, downloads every session's run (.npz) and checks it equals what the same config
     trains alone, headless (no cross-talk between sessions);
  4. closes all sessions, waits out server.disconnectedSessionTTL, and reads the RSS again: "after".

    .venv/bin/python benchmarks/load_classroom.py [--students 20] [--seconds 60]

Prints one table and a verdict line; exits 1 if a session starved, a run differed, or memory did not
return within 20% of its start.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import numpy as np  # noqa: E402
from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, start_server, step_counter  # noqa: E402

from rnnviz import io  # noqa: E402
from rnnviz.config import ExperimentConfig  # noqa: E402
from rnnviz.trainer import Trainer, limit_threads  # noqa: E402

#: max_steps well past the window: on a core of its own the server trains these runs to 2,000 steps (the default cap)
#: within the minute, and a finished run has no Pause to press
QUERY = "seq_len=30&hidden_size=32&batch_size=16&max_steps=100000&seed={seed}"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ttl_seconds() -> float:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    return float(config.get("server", {}).get("disconnectedSessionTTL", 120))


def read_step(page) -> int | None:
    try:
        return step_counter(page, timeout=5000)
    except Exception:  # noqa: BLE001 (a redraw in progress: sample again later)
        return None


def open_student(browser, url: str, seed: int):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{url}/?{QUERY.format(seed=seed)}")
    page.wait_for_selector("[data-testid=stMetric]")
    return context, page


def download_run(page, path: Path, attempts: int = 3):
    """The session's run as saved by the Share & data page's download button (retried: a button
    clicked while its script run is replaced cancels the download)."""
    page.locator("[data-testid=stSidebarNav] a", has_text="Share & data").click()
    for attempt in range(attempts):
        page.wait_for_selector("[data-test-script-state=notRunning]", state="attached", timeout=120_000)
        button = page.get_by_role("button", name=re.compile("the run"))
        button.wait_for()
        try:
            with page.expect_download(timeout=120_000) as dl:
                button.click()
            dl.value.save_as(path)
            return io.load_run(path)
        except Exception:  # noqa: BLE001
            if attempt == attempts - 1:
                raise
            page.wait_for_timeout(1000)


def press_play(page, attempts: int = 3) -> None:
    """Press play and make sure it took (the button turns into Pause): a click that lands while the
    page is mid-rerun can be lost, and a session that never played is not a starved one."""
    strip = page.locator(".st-key-control-strip")  # the one control strip above every page
    for _ in range(attempts):
        strip.get_by_role("button", name="Play").click()
        try:
            strip.get_by_role("button", name="Pause").wait_for(timeout=30_000)
            return
        except Exception:  # noqa: BLE001 (not yet: press again)
            continue
    raise RuntimeError("play did not take after 3 presses")


def connection_state(page) -> str:
    """What Streamlit's page says of its server connection (its status widget), or "connected"."""
    status = page.locator("[data-testid=stStatusWidget]")
    try:
        return status.first.inner_text(timeout=2_000).strip() or "status shown" if status.count() else "connected"
    except Exception:  # noqa: BLE001 (redrawn meanwhile: nothing to say)
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--split-cores", action="store_true",
                    help="pin the server to CPU 0 (one training slot) and the browsers to CPU 1, as if the "
                         "students' browsers ran on their own machines")
    args = ap.parse_args(argv)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if args.split_cores:
        os.environ["RNNVIZ_TRAINING_SLOTS"] = "1"  # the server has one core of its own
    proc, url = start_server()
    if args.split_cores:
        subprocess.run(["taskset", "-a", "-c", "-p", "0", str(proc.pid)], check=True, capture_output=True)
        os.sched_setaffinity(0, {1})  # this script and the browsers it launches
    problems: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx, page = open_student(browser, url, seed=999)  # warm-up: imports, first figures
            ctx.close()
            time.sleep(2)
            start = rss_mb(proc.pid)
            students = [open_student(browser, url, seed=k) for k in range(args.students)]
            opened = rss_mb(proc.pid)
            for _, page in students:
                press_play(page)
            samples: list[list[tuple[float, int | None]]] = [[] for _ in students]
            t_end = time.monotonic() + args.seconds
            peak = opened
            while time.monotonic() < t_end:
                for k, (_, page) in enumerate(students):
                    samples[k].append((time.monotonic(), read_step(page)))
                peak = max(peak, rss_mb(proc.pid))
                time.sleep(args.sample_every)
            for k, (_, page) in enumerate(students):  # one more round: a round of 20 slow pages can outlast the window
                samples[k].append((time.monotonic(), read_step(page)))
            for k, (_, page) in enumerate(students):
                pause = page.locator(".st-key-control-strip").get_by_role("button", name="Pause")
                if pause.count():
                    try:
                        pause.click(timeout=30_000)
                    except PlaywrightTimeout:  # say what the student saw, and go on with the others
                        shot = ARTIFACTS / f"classroom-pause-{k}.png"
                        page.screenshot(path=str(shot))
                        try:
                            enabled = str(pause.first.is_enabled(timeout=2_000))
                        except PlaywrightTimeout:
                            enabled = "gone"  # redrawn meanwhile
                        problems.append(f"student {k}: Pause not clickable within 30 s (enabled: {enabled}; "
                                        f"connection: {connection_state(page)}; {shot.name})")
            time.sleep(3)
            rates, starved = [], 0
            for k, series in enumerate(samples):
                good = [(t, s) for t, s in series if s is not None]
                if len(good) < 2:
                    starved += 1
                    problems.append(f"student {k}: fewer than 2 readable samples")
                    continue
                rates.append((good[-1][1] - good[0][1]) / (good[-1][0] - good[0][0]))
                if any(b[1] <= a[1] for a, b in zip(good, good[1:], strict=False)):
                    starved += 1
                    problems.append(f"student {k}: no progress in some {args.sample_every:.0f} s window")
            if not rates:  # no figures to give: say why, and stop here
                print("verdict: no student gave two readable Step counters;", "; ".join(problems[:5]), flush=True)
                return 1
            print(f"{args.students} students, {args.seconds:.0f} s of play: steps/s per student median "
                  f"{statistics.median(rates):.1f}, worst {min(rates):.1f}, best {max(rates):.1f}; "
                  f"starved {starved}; RSS MB start {start:.0f}, open {opened:.0f}, peak {peak:.0f}", flush=True)
            # no cross-talk: every student's recorded run equals the same config trained alone
            limit_threads(1)
            mismatched, tmp = 0, Path(tempfile.mkdtemp())
            for k, (_, page) in enumerate(students):
                try:
                    run = download_run(page, tmp / f"student{k}.npz")
                except Exception as err:  # noqa: BLE001 (reported, and counted as a failure)
                    mismatched += 1
                    problems.append(f"student {k}: could not download the run ({err.__class__.__name__})")
                    continue
                alone = Trainer(ExperimentConfig(seq_len=30, hidden_size=32, batch_size=16, max_steps=100000, seed=k))
                alone.step(len(run.steps))
                same = np.array_equal(run.scalars["loss"], alone.history.scalars["loss"]) and \
                    run.config == alone.config
                if not same:
                    mismatched += 1
                    problems.append(f"student {k}: recorded run differs from the same config trained alone")
            for ctx, _ in students:
                ctx.close()
            browser.close()
        wait = ttl_seconds() + 15
        print(f"sessions closed; waiting {wait:.0f} s (disconnectedSessionTTL + 15 s) for the server to drop them",
              flush=True)
        time.sleep(wait)
        after = rss_mb(proc.pid)
    finally:
        proc.terminate()
    print(f"\n{args.students} students, {args.seconds:.0f} s of play, one server on 2 cores "
          f"(training slots: RNNVIZ_TRAINING_SLOTS, default one per core)")
    print(f"steps/s per student: median {statistics.median(rates):.1f}, worst {min(rates):.1f}, "
          f"best {max(rates):.1f}; sessions that starved: {starved}")
    print(f"server RSS MB: start {start:.0f}, with sessions open {opened:.0f}, peak {peak:.0f}, "
          f"after close + TTL {after:.0f} ({100 * (after - start) / start:+.0f}% of start)")
    print(f"runs equal to the same config trained alone: {args.students - mismatched}/{args.students}")
    if after > 1.2 * start:
        problems.append(f"memory after close {after:.0f} MB is more than 20% above its start {start:.0f} MB")
    print("verdict:", "OK" if not problems else "; ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
