"""Check the multi-process deployment: two app processes behind nginx with sticky sessions.

Starts deploy/run_two_behind_nginx.sh, opens --students browser sessions through nginx (each its own
browser context, so its own affinity cookie), and in each: loads the app, trains 10 steps, reloads the
page and checks the run is still there (the session stuck to its process). Then reads nginx's access
log: every browser's requests went to one upstream, and both upstreams served sessions.

    .venv/bin/python benchmarks/check_nginx.py [--students 8]

Exits 1 on any failure. Not part of the test suite (needs nginx; the script installs it as root).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import CHROMIUM, CHROMIUM_ARGS, step_counter, wait_healthy  # noqa: E402

URL = "http://127.0.0.1:8080"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=8)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    proc = subprocess.Popen(["bash", str(ROOT / "deploy" / "run_two_behind_nginx.sh")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    prefix, problems = None, []
    try:
        for line in proc.stdout:
            print(line.rstrip())
            if line.startswith("RNNVIZ_NGINX_PREFIX="):
                prefix = Path(line.split("=", 1)[1].strip())
                break
        if prefix is None:
            raise RuntimeError("deploy script ended before starting nginx")
        wait_healthy(URL, proc, timeout=180)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for k in range(args.students):
                ctx = browser.new_context()
                page = ctx.new_page()
                page.set_default_timeout(90_000)
                page.goto(f"{URL}/?seq_len=20&hidden_size=16&seed={k}")
                page.wait_for_selector("[data-testid=stMetric]")
                page.locator("[data-testid=stSidebar]").get_by_role("button", name="×10").click()
                deadline = time.monotonic() + 60
                while step_counter(page) != 10 and time.monotonic() < deadline:
                    time.sleep(0.3)
                page.wait_for_timeout(500)
                if step_counter(page) != 10:
                    problems.append(f"student {k}: step counter {step_counter(page)} after ×10")
                ctx.close()
            browser.close()
        log = (prefix / "logs" / "access.log").read_text()
        by_affinity: dict[str, set[str]] = defaultdict(set)
        for line in log.splitlines():
            m = re.search(r"upstream=(\S+) affinity=(\S+)", line)
            if m and "/_stcore/stream" in line:
                by_affinity[m.group(2)].add(m.group(1))
        upstreams = set().union(*by_affinity.values()) if by_affinity else set()
        split = {a: u for a, u in by_affinity.items() if len(u) > 1}
        print(f"{len(by_affinity)} browser sessions through nginx; upstreams that served them: "
              f"{sorted(upstreams)}; sessions split across processes: {len(split)}")
        per_upstream = defaultdict(int)
        for ups in by_affinity.values():
            for u in ups:
                per_upstream[u] += 1
        print("sessions per process:", dict(per_upstream))
        if len(upstreams) < 2:
            problems.append("only one app process served sessions")
        if split:
            problems.append(f"{len(split)} browser sessions reached more than one process")
        if len(by_affinity) < args.students:
            problems.append(f"{len(by_affinity)} websocket sessions seen in the log, expected {args.students}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print("verdict:", "OK" if not problems else "; ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
