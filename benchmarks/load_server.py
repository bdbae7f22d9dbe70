"""A class on one server, measured without browsers: N sessions over Streamlit's own websocket protocol.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/load_server.py [--mix all|room|link|private|mixed|light-heavy]
                                                                 [--seconds 30] [--port PORT --pid PID]

Each session is what a browser tab is to the server, minus the rendering: it opens
``/_stcore/stream`` (subprotocol ``streamlit``), sends a ``rerun_script`` BackMsg with the link's
query string, reads the ForwardMsgs (``streamlit.proto``), re-sends the ``run_every`` fragment's
auto-reruns as the frontend does (``auto_rerun`` / ``stop_auto_rerun``), and presses buttons by
sending a trigger for the widget id found in the deltas (``ctl.play``, ``ctl.step10``). No Chromium:
the figures measure the server alone (the client's own CPU time is printed beside them).

Per session it reports:
- steps/s seen: the status bar's Step counter, first to last value seen in the measured window;
- redraws/s: Step counters received (one per redraw of the live area) per second;
- worst gap: the longest wait between two redraws (the window's edges count);
- stall: the longest time the Step counter stood still (only for sessions that play);
- equal alone: the last loss chart received (every loss value the page drew, Plotly's exact float64
  data) against a headless :class:`rnnviz.trainer.Trainer` of the config in the session's address
  bar trained to the same step: every drawn value must be identical (no cross-talk between sessions).
And the server's RSS: after one warm-up visit (start), the peak while the sessions run, and after
every session closed and ``server.disconnectedSessionTTL`` plus one sweep passed.

Mixes (a fresh server each, started with ``serve.py`` on 127.0.0.1 and a free port):
- ``room``: 1 leader (``?preset=lstm-remembers&room=NAME&role=teacher``, presses Play) + 30 followers
  (``?room=NAME``, watching);
- ``link``: 30 sessions on one shared link (``?preset=lstm-remembers``), all pressing Play;
- ``private``: 10 private LSTM runs (``?preset=lstm-remembers&seed=1..10``), all pressing Play;
- ``mixed``: 20 following a leader + 10 private LSTM runs;
- ``light-heavy`` (issue 16): a light session (the default link) playing, and windows that alternate
  between the light session alone and the light session beside two sessions on the heaviest allowed
  link playing plus one pressing x10 again and again; the light session's steps/s under load / alone.
- ``light-two-heavy``: the same with the issue's two heavy sessions, one playing and one pressing x10.
Targets (issues 13 and 16) are printed as met / not met under the table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

LSTM_LINK = "preset=lstm-remembers"
ROOM = "loadtest"
NOT_CONFIG = ("room", "role", "lock", "hide", "view")  # link parameters that are not config fields
#: The Step metric, the loss figure and the run buttons, by the keys the app gives them.
PLAY, STEP10, LOSS_CHART = "ctl.play", "ctl.step10", "playground.loss"


# ---------------------------------------------------------------------------------------- the client


@dataclass
class Session:
    """One tab as the server sees it: a websocket, the page's state, and what it saw when."""

    name: str
    query: str
    plays: bool = False  # presses Play once open
    steps: list[tuple[float, int]] = field(default_factory=list)  # (time, Step counter) per redraw
    buttons: dict[str, str] = field(default_factory=dict)  # user key -> widget id (latest run)
    loss_spec: str = ""  # the last loss figure received (Plotly JSON)
    loss_step: int = -1  # the Step counter drawn with it
    notices: list[str] = field(default_factory=list)  # alerts and exceptions received (first few)
    queued: int = 0  # "queued" / "busy" notices received
    errors: int = 0
    runs: int = 0  # script runs finished (full and fragment)
    first_chart: float | None = None  # when the first Plotly chart's delta arrived (time.monotonic())

    def __post_init__(self):
        self.ws = None
        self.page_hash = ""
        self._auto: dict[str, asyncio.Task] = {}
        self._finished = asyncio.Event()
        self._reader: asyncio.Task | None = None

    # -- talking to the server ----------------------------------------------------------------
    async def open(self, url: str) -> None:
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await connect(ws_url, subprotocols=["streamlit"], max_size=None, compression=None,
                                open_timeout=120, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        await self.rerun()

    async def rerun(self, widgets: list[WidgetState] = (), fragment: str = "", auto: bool = False) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash
        cs.widget_states.widgets.extend(widgets)
        if fragment:
            cs.fragment_id, cs.is_auto_rerun = fragment, auto
        if not fragment:
            self._finished.clear()
        await self.ws.send(msg.SerializeToString())

    async def wait_run(self, timeout: float = 180.0) -> None:
        """Until the current full script run has finished."""
        await asyncio.wait_for(self._finished.wait(), timeout)

    async def press(self, key: str, timeout: float = 180.0) -> None:
        """Click the button keyed ``key`` (a trigger for its widget id) and wait for the run it starts."""
        widget_id = self.buttons.get(key)
        if widget_id is None:
            raise RuntimeError(f"{self.name}: no button {key!r} on the page (buttons: {sorted(self.buttons)})")
        await self.rerun([WidgetState(id=widget_id, trigger_value=True)])
        await self.wait_run(timeout)

    async def close(self) -> None:
        for task in self._auto.values():
            task.cancel()
        self._auto.clear()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # -- what the server sends -------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._on(msg, time.monotonic())
        except Exception as err:  # noqa: BLE001 - the connection went away: say so in the report
            if not isinstance(err, asyncio.CancelledError):
                self._note(f"connection: {err.__class__.__name__}")

    def _on(self, msg: ForwardMsg, now: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
            if not msg.metadata.run.fragment_ids:  # a full run: the frontend drops its auto-reruns
                self._stop_auto(list(self._auto))
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._on_element(msg.delta.new_element, now)
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            fid, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            self._stop_auto([fid])
            self._auto[fid] = asyncio.create_task(self._auto_rerun(fid, every))
        elif kind == "stop_auto_rerun":
            self._stop_auto(list(msg.stop_auto_rerun.fragment_ids))
        elif kind == "script_finished":
            self.runs += 1
            if msg.script_finished != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self._finished.set()

    def _on_element(self, el, now: float) -> None:
        kind = el.WhichOneof("type")
        if kind == "metric" and el.metric.label == "Step":
            self.steps.append((now, int(el.metric.body.replace(",", ""))))
        elif kind == "plotly_chart":
            if self.first_chart is None:
                self.first_chart = now
            if el.plotly_chart.id.endswith(LOSS_CHART):
                self.loss_spec = el.plotly_chart.spec
                self.loss_step = self.steps[-1][1] if self.steps else -1
        elif kind == "button":
            self.buttons[el.button.id.rsplit("-", 1)[-1]] = el.button.id
        elif kind == "alert":
            text = el.alert.body
            if "queued" in text or "busy" in text:
                self.queued += 1
            self._note(f"alert: {text[:120]}")
        elif kind == "toast":
            if "Queued" in el.toast.body or "busy" in el.toast.body:
                self.queued += 1
            self._note(f"toast: {el.toast.body[:120]}")
        elif kind == "exception":
            self.errors += 1
            self._note(f"exception: {el.exception.type}: {el.exception.message[:120]}")

    def _note(self, text: str) -> None:
        if len(self.notices) < 5 and text not in self.notices:
            self.notices.append(text)

    async def _auto_rerun(self, fragment: str, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.rerun(fragment=fragment, auto=True)

    def _stop_auto(self, ids) -> None:
        for fid in ids:
            task = self._auto.pop(fid, None)
            if task is not None:
                task.cancel()


# ---------------------------------------------------------------------------------------- measures


@dataclass
class Seen:
    """What one session saw in a window [t0, t1]."""

    steps_per_s: float
    redraws_per_s: float
    worst_gap: float
    stall: float


def seen(sess: Session, t0: float, t1: float) -> Seen:
    pts = [(t, s) for t, s in sess.steps if t0 <= t <= t1]
    if len(pts) < 2:
        return Seen(0.0, len(pts) / (t1 - t0), t1 - t0, t1 - t0)
    times = [t0, *(t for t, _ in pts), t1]
    gap = max(b - a for a, b in zip(times, times[1:], strict=False))
    stall, since = 0.0, t0  # the longest time the counter stood still
    for (_, a), (t, b) in zip(pts, pts[1:], strict=False):
        if b != a:
            stall, since = max(stall, t - since), t
    stall = max(stall, t1 - since)
    rate = (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
    return Seen(rate, len(pts) / (t1 - t0), gap, stall)


def drawn_losses(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, losses) of the loss figure's "loss" trace, exactly as sent (Plotly's typed arrays)."""
    fig = json.loads(spec)
    trace = next(t for t in fig["data"] if t.get("name") == "loss")

    def arr(v):
        if isinstance(v, dict) and "bdata" in v:
            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return np.asarray(v, dtype=float)

    return arr(trace["x"]).astype(np.int64), arr(trace["y"]).astype(np.float64)


def config_of(query: str):
    from rnnviz.config import ExperimentConfig

    params = {k: v for k, v in parse_qsl(query) if k not in NOT_CONFIG}
    return ExperimentConfig.from_params(params)[0]


def equal_alone(sessions: list[Session]) -> dict[str, bool | None]:
    """Every session's last drawn loss curve against the same config trained alone (headless, one
    Trainer per config, trained to the furthest step any session drew). None: nothing drawn."""
    from rnnviz.trainer import Trainer

    wanted: dict = {}
    for s in sessions:
        if s.loss_spec:
            cfg = config_of(s.query)
            wanted[cfg] = max(wanted.get(cfg, 0), int(drawn_losses(s.loss_spec)[0].max()) + 1)
    alone = {}
    for cfg, n in wanted.items():
        trainer = Trainer(cfg)
        while trainer.step_count < n and not trainer.stop_reason:
            trainer.step(min(500, n - trainer.step_count), record="cadence")
        alone[cfg] = trainer.history.scalars["loss"]
    out: dict[str, bool | None] = {}
    for s in sessions:
        if not s.loss_spec:
            out[s.name] = None
            continue
        steps, losses = drawn_losses(s.loss_spec)
        ref = alone[config_of(s.query)]
        out[s.name] = bool(steps.max() < len(ref) and np.array_equal(ref[steps], losses))
        if not out[s.name]:  # say where, so a difference can be traced
            inside = steps < len(ref)
            bad = np.flatnonzero(ref[steps[inside]] != losses[inside])
            print(f"  {s.name} ({s.query}) differs from its config trained alone: {len(steps)} drawn steps up to "
                  f"{steps.max()}, alone {len(ref)}; first differing steps {steps[inside][bad[:3]].tolist()}: drawn "
                  f"{losses[inside][bad[:3]].tolist()} vs alone {ref[steps[inside][bad[:3]]].tolist()}", flush=True)
    return out


# ---------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """``serve.py`` (warm start, as `make run`) on 127.0.0.1 and a free port, healthy."""
    port = free_port()
    cmd = [sys.executable, str(ROOT / "serve.py"), "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the server was not healthy within 180 s; see {log}")


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def ttl_seconds() -> float:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    return float(config.get("server", {}).get("disconnectedSessionTTL", 120))


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


# ---------------------------------------------------------------------------------------- mixes


def heaviest_link() -> str:
    """The heaviest config the rules allow (benchmarks/load_light_vs_heavy.py), as a link."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from load_light_vs_heavy import heaviest_config

    cfg = heaviest_config().replace(max_steps=100_000)
    return "&".join(f"{k}={v}" for k, v in cfg.to_params().items())


def sessions_of(mix: str, n: int) -> list[Session]:
    if mix == "smoke":
        return [Session(f"s{k}", f"{LSTM_LINK}&seed={k}", plays=True) for k in range(n or 2)]
    if mix == "room":
        return [Session("leader", f"{LSTM_LINK}&room={ROOM}&role=teacher", plays=True),
                *(Session(f"follower{k}", f"room={ROOM}") for k in range(n or 30))]
    if mix == "link":
        return [Session(f"link{k}", LSTM_LINK, plays=True) for k in range(n or 30)]
    if mix == "private":
        return [Session(f"private{k}", f"{LSTM_LINK}&seed={k + 1}", plays=True) for k in range(n or 10)]
    if mix == "mixed":
        return [Session("leader", f"{LSTM_LINK}&room={ROOM}&role=teacher", plays=True),
                *(Session(f"follower{k}", f"room={ROOM}") for k in range(20)),
                *(Session(f"private{k}", f"{LSTM_LINK}&seed={k + 1}", plays=True) for k in range(10))]
    raise ValueError(mix)


async def open_all(url: str, sessions: list[Session], stagger: float = 0.05) -> None:
    """Open every session (a little apart, as a class arriving) and wait for each first page."""
    for s in sessions:
        await s.open(url)
        await asyncio.sleep(stagger)
    await asyncio.gather(*(s.wait_run() for s in sessions))


async def play(sessions: list[Session]) -> None:
    await asyncio.gather(*(s.press(PLAY) for s in sessions if s.plays))


@dataclass
class MixResult:
    mix: str
    rows: list[tuple[str, Seen, bool]]  # (session, what it saw, plays)
    equal: dict[str, bool | None]
    rss: tuple[float, float, float]  # start, peak, after TTL
    seconds: float
    client_cpu: float
    load: str
    notices: dict[str, list[str]]
    extra: dict = field(default_factory=dict)


async def sample_rss(pid: int | None, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(0.5)


async def warm_up_and_sample(url: str, pid: int | None):
    """One warm-up visit (the run built, then left), then the server's RSS: (start MB, [peak MB], the event
    that stops sampling, the sampling task)."""
    warm = Session("warm-up", LSTM_LINK)
    await warm.open(url)
    await warm.wait_run()
    await warm.close()
    start = rss_mb(pid)
    peak, stop = [start], asyncio.Event()
    return start, peak, stop, asyncio.create_task(sample_rss(pid, peak, stop))


async def run_mix(mix: str, url: str, pid: int | None, seconds: float, settle: float, n: int,
                  ttl_wait: float) -> MixResult:
    start, peak, stop, sampler = await warm_up_and_sample(url, pid)
    sessions = sessions_of(mix, n)
    await open_all(url, sessions)
    await play(sessions)
    await asyncio.sleep(settle)
    cpu0, t0, load0 = time.process_time(), time.monotonic(), load()
    await asyncio.sleep(seconds)
    t1, cpu = time.monotonic(), time.process_time() - cpu0
    rows = [(s.name, seen(s, t0, t1), s.plays) for s in sessions]
    for s in sessions:
        await s.close()
    stop.set()
    await sampler
    equal = await asyncio.to_thread(equal_alone, sessions)  # while the TTL runs out
    await asyncio.sleep(max(0.0, ttl_wait - (time.monotonic() - t1)))
    return MixResult(mix, rows, equal, (start, peak[0], rss_mb(pid)), t1 - t0, cpu, load0,
                     {s.name: s.notices for s in sessions if s.notices})


#: heavy sessions that play, per light-vs-heavy mix (each mix adds one more pressing x10)
HEAVY_PLAYERS = {"light-heavy": 2, "light-two-heavy": 1}


async def run_light_heavy(url: str, pid: int | None, seconds: float, settle: float, rounds: int,
                          ttl_wait: float, mix: str = "light-heavy") -> MixResult:
    """The light session alone vs beside heavy sessions (HEAVY_PLAYERS[mix] playing and one pressing x10),
    alternating."""
    start, peak, stop, sampler = await warm_up_and_sample(url, pid)
    heavy = heaviest_link()
    light = Session("light", "max_steps=100000", plays=True)
    players = [Session(f"heavy{k}", f"{heavy}&seed={k}", plays=True) for k in range(HEAVY_PLAYERS[mix])]
    presser = Session("heavy-x10", f"{heavy}&seed=2")
    sessions = [light, *players, presser]
    await open_all(url, sessions)
    await light.press(PLAY)
    pressing = asyncio.Event()

    async def press_x10():
        while True:
            await pressing.wait()
            await presser.press(STEP10, timeout=600)

    x10 = asyncio.create_task(press_x10())
    windows: dict[str, list[Seen]] = {"alone": [], "loaded": []}
    cpu0 = time.process_time()
    playing = False
    for _ in range(rounds):
        for name in ("alone", "loaded"):
            if (name == "loaded") != playing:
                playing = not playing
                await asyncio.gather(*(p.press(PLAY) for p in players))
                pressing.set() if playing else pressing.clear()
            await asyncio.sleep(settle)
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            windows[name].append(seen(light, t0, time.monotonic()))
            print(f"  {name:7s} light {windows[name][-1].steps_per_s:6.1f} steps/s  (load {load()})", flush=True)
    cpu = time.process_time() - cpu0
    x10.cancel()
    t1 = time.monotonic()
    for s in sessions:
        await s.close()
    stop.set()
    await sampler
    equal = await asyncio.to_thread(equal_alone, [light])
    await asyncio.sleep(max(0.0, ttl_wait - (time.monotonic() - t1)))
    rows = [(f"light {name} #{k + 1}", w, True) for name, ws in windows.items() for k, w in enumerate(ws)]
    return MixResult(mix, rows, equal, (start, peak[0], rss_mb(pid)), seconds * 2 * rounds, cpu,
                     load(), {s.name: s.notices for s in sessions if s.notices},
                     {"alone": [w.steps_per_s for w in windows["alone"]],
                      "loaded": [w.steps_per_s for w in windows["loaded"]],
                      "heavy steps": [p.steps[-1][1] if p.steps else 0 for p in (*players, presser)],
                      "queued notices": {s.name: s.queued for s in sessions}})


# ---------------------------------------------------------------------------------------- report

#: (mix, who) -> (min steps/s, min redraws/s, max gap s, max stall s)
TARGETS = {"room": (20.0, 1.0, 3.0, None), "link": (20.0, 1.0, 3.0, None), "mixed": (None, 1.0, 3.0, None),
           "private": (3.0, None, None, 5.0), "smoke": (None, None, None, None)}


def report(r: MixResult) -> list[tuple[str, bool, str]]:
    """Print the mix's table; return its targets as (target, met, figures)."""
    print(f"\n== mix {r.mix}: {len(r.rows)} rows, {r.seconds:.0f} s measured, load average {r.load} "
          f"(2 cores); client CPU {r.client_cpu:.1f} s ({r.client_cpu / r.seconds:.0%} of one core)")
    print(f"{'session':18s} {'steps/s':>8s} {'redraws/s':>9s} {'worst gap':>9s} {'stall':>7s} {'equal alone':>11s}")
    for name, s, _ in r.rows:
        eq = r.equal.get(name.split()[0], None)
        print(f"{name:18s} {s.steps_per_s:8.1f} {s.redraws_per_s:9.2f} {s.worst_gap:8.1f}s {s.stall:6.1f}s "
              f"{'-' if eq is None else 'yes' if eq else 'NO':>11s}")
    start, peak, after = r.rss
    print(f"server RSS MB: start {start:.0f}, peak {peak:.0f}, after close + TTL {after:.0f} "
          f"({(after - start) / start:+.0%})")
    for name, notes in list(r.notices.items())[:6]:
        print(f"  {name}: {' | '.join(notes)}")
    out = []
    if r.mix in HEAVY_PLAYERS:
        alone, loaded = statistics.median(r.extra["alone"]), statistics.median(r.extra["loaded"])
        ratio = loaded / alone if alone else 0.0
        out.append((f"light session keeps >= 70% of its steps/s ({HEAVY_PLAYERS[r.mix]} heavy playing + 1 pressing "
                    f"x10)", ratio >= 0.7, f"{ratio:.0%} (median {loaded:.1f} vs {alone:.1f} steps/s alone)"))
        print(f"heavy sessions' steps: {r.extra['heavy steps']}; queued notices seen: {r.extra['queued notices']}")
    else:
        lo_rate, lo_redraw, hi_gap, hi_stall = TARGETS[r.mix]
        watched = [(n, s, p) for n, s, p in r.rows if r.mix != "mixed" or n.startswith(("follower", "leader"))]
        if lo_rate is not None:
            worst = min(s.steps_per_s for _, s, _ in watched)
            out.append((f"{r.mix}: every session >= {lo_rate:g} steps/s", worst >= lo_rate, f"worst {worst:.1f}, "
                        f"median {statistics.median(s.steps_per_s for _, s, _ in watched):.1f}"))
        if lo_redraw is not None:
            worst = min(s.redraws_per_s for _, s, _ in watched)
            out.append((f"{r.mix}: every session >= {lo_redraw:g} redraw/s", worst >= lo_redraw, f"worst {worst:.2f}"))
        if hi_gap is not None:
            worst = max(s.worst_gap for _, s, _ in watched)
            out.append((f"{r.mix}: no gap between redraws over {hi_gap:g} s", worst <= hi_gap, f"worst {worst:.1f} s"))
        if r.mix == "mixed":
            private = [s for n, s, _ in r.rows if n.startswith("private")]
            worst = min(s.steps_per_s for s in private)
            out.append(("mixed: private runs >= 3 steps/s", worst >= 3.0, f"worst {worst:.1f}"))
        if hi_stall is not None:
            worst = max(s.stall for _, s, _ in watched)
            out.append((f"{r.mix}: no {hi_stall:g} s stall", worst < hi_stall, f"worst {worst:.1f} s"))
    known = [v for v in r.equal.values() if v is not None]
    out.append((f"{r.mix}: every run equals the same config trained alone", bool(known) and all(known),
                f"{sum(known)}/{len(r.equal)} equal, {len(r.equal) - len(known)} drew no loss chart"))
    if start == start:  # not nan: we know the server's pid
        out.append((f"{r.mix}: RSS after close + TTL within 20% of start", after <= 1.2 * start,
                    f"{start:.0f} -> peak {peak:.0f} -> {after:.0f} MB ({(after - start) / start:+.0%})"))
    return out


async def main_async(args) -> int:
    mixes = ["room", "link", "private", "mixed", *HEAVY_PLAYERS] if args.mix == "all" else [args.mix]
    ttl_wait = ttl_seconds() + 15 if args.ttl_wait is None else args.ttl_wait
    verdicts = []
    for mix in mixes:
        proc = None
        if args.port:
            url, pid = f"http://127.0.0.1:{args.port}", args.pid
        else:
            log = Path(tempfile.gettempdir()) / f"rnnviz-load-{mix}.log"
            proc, url = start_server(log)
            pid = proc.pid
        print(f"mix {mix} on {url} (load average {load()})", flush=True)
        try:
            if mix in HEAVY_PLAYERS:
                r = await run_light_heavy(url, pid, args.seconds, args.settle, args.rounds, ttl_wait, mix)
            else:
                r = await run_mix(mix, url, pid, args.seconds, args.settle, args.sessions, ttl_wait)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        verdicts += report(r)
    print("\ntargets:")
    for what, met, figures in verdicts:
        print(f"  [{'met' if met else 'NOT met'}] {what}: {figures}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mix", default="all", choices=["all", "room", "link", "private", "mixed", *HEAVY_PLAYERS,
                                                     "smoke"])
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds (per window for light-heavy)")
    ap.add_argument("--settle", type=float, default=5.0, help="unmeasured seconds after pressing play")
    ap.add_argument("--rounds", type=int, default=2, help="light-heavy: alone/loaded window pairs")
    ap.add_argument("--sessions", type=int, default=0, help="override a mix's session count")
    ap.add_argument("--port", type=int, help="use a server already listening on 127.0.0.1:PORT")
    ap.add_argument("--pid", type=int, help="with --port: the server's pid, for its RSS")
    ap.add_argument("--ttl-wait", type=float, help="seconds to wait after closing (default: the TTL + 15)")
    args = ap.parse_args(argv)
    from rnnviz.trainer import limit_threads

    limit_threads(1)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
