"""How fast memtui's terminal UI is. Prints figures and the machine they came from.

    python benchmarks/bench_ui.py [--runs N] [--seconds S] [--quick]

1. Time to the first frame: memtui on the bundled default profile (exactly what `memtui` runs:
   `app_for_path`, whose first frame comes before the profile is read and the model is
   built) against a bare Textual app (one Static), each in a fresh interpreter, measured in the
   same run (median of N, interleaved). The clock starts when the child's script starts (before
   its imports) and stops at Textual's Ready event, which follows the first frame. Target:
   memtui within 1.5x of the bare app. Also shown: the time until the host's figures are on
   the screen (the model loaded in its worker and drawn).
   Both children run with Python's bytecode cache (in a temporary folder, filled by one
   warm-up run of each that is not counted), as an installed memtui and Textual have it: with
   PYTHONDONTWRITEBYTECODE=1 on an editable install every memtui module would be compiled from
   source at each start, which no installed copy does. `--no-bytecode-cache` measures that
   case instead.
2. The 320-VM profile running flat out (3600x, the model as fast as it can within its time
   budget), headless at 200x60, with the VM detail pane shown, for S wall seconds:
   - UI work per wall second: the process's CPU time minus the CPU time spent stepping the
     model (so it holds snapshots, table updates, layout, rendering, timers: everything that
     is not the model). Target: at most 100 ms per wall second.
   - Key latency (a second phase of S seconds): a Down key posted to the app every 0.25 s; the
     time until the table cursor has moved, and until the next frame after that has been
     composed. Target: 100 ms.
   - Resident memory (RSS) at the end. Target: under 150 MB.

Headless means the frames are composed and rendered as for a terminal, but not written to one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_HOME = tempfile.mkdtemp(prefix="memtui-bench-")  # the user's own settings play no part
ROOT = os.path.dirname(HERE)

FIRST_FRAME_RATIO_TARGET = 1.5
UI_MS_PER_S_TARGET = 100.0
KEY_MS_TARGET = 100.0
RSS_MB_TARGET = 150.0

_FIRST_FRAME_CHILD = r"""
import time
T0 = time.perf_counter()
import sys
kind = sys.argv[1]

def done(app):
    sys.stdout.write(f"{time.perf_counter() - T0:.6f}\n")
    sys.stdout.flush()
    app.exit()

if kind == "bare":
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("hello")

        def on_ready(self):
            done(self)

    app = Bare()
else:
    from memtui import paths
    from memtui.ui.app import MemtuiApp, app_for_path

    class Timed(MemtuiApp):
        def on_ready(self):
            self.first_frame_s = time.perf_counter() - T0

        def _session_ready(self):
            super()._session_ready()
            self.call_after_refresh(self._figures_shown)

        def _figures_shown(self):
            sys.stdout.write(f"{self.first_frame_s:.6f} {time.perf_counter() - T0:.6f}\n")
            sys.stdout.flush()
            self.exit()

    app = app_for_path(paths.default_profile_path(), cls=Timed, paused=True,
                       self_usage=False)
app.run(headless=True, size=(120, 40))
"""

_PYCACHE = tempfile.mkdtemp(prefix="memtui-bench-pyc-")


def first_frame_s(kind: str, bytecode_cache: bool = True) -> list[float]:
    """[first frame] for the bare app, [first frame, figures shown] for memtui, in seconds."""
    env = dict(os.environ)
    env.setdefault("MEMTUI_HOME", _HOME)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([sys.executable, "-c", _FIRST_FRAME_CHILD, kind], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr}")
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


def measure_first_frame(runs: int, bytecode_cache: bool = True) -> dict:
    if bytecode_cache:  # warm-up: fill the bytecode cache (not counted)
        first_frame_s("bare")
        first_frame_s("memtui")
    bare, memtui, figures = [], [], []
    for _ in range(runs):  # interleaved, so that both see the same machine load
        bare.append(first_frame_s("bare", bytecode_cache)[0])
        frame, shown = first_frame_s("memtui", bytecode_cache)
        memtui.append(frame)
        figures.append(shown)
    b, m = statistics.median(bare), statistics.median(memtui)
    return {"bare_s": b, "memtui_s": m, "ratio": m / b, "runs": runs,
            "figures_s": statistics.median(figures), "ratios": sorted(x / y for x, y in zip(memtui, bare, strict=True))}


def _big_profile():
    from memtui import paths

    bundled = paths.bundled_profiles_dir() / "max-host-40.toml"
    if bundled.exists():
        from memtui.profile import load_profile

        return load_profile(bundled), bundled.name
    from memtui.bench import synthetic_profile

    return synthetic_profile(320), "synthetic 320-VM profile"


async def _flat_out(seconds: float) -> dict:
    import psutil
    from textual import events

    from memtui.model import Host
    from memtui.ui.app import MemtuiApp

    profile, name = _big_profile()
    app = MemtuiApp(Host.from_profile(profile), profile, paused=True, self_usage=True,
                    speed_x=3600)
    proc = psutil.Process()
    latencies_handled: list[float] = []
    latencies_frame: list[float] = []
    async with app.run_test(size=(200, 60), headless=True) as pilot:
        await pilot.pause()
        table = app.main.table
        app.main.show_view("vm")
        table.focus()
        await pilot.pause()
        app.set_running(True)
        await asyncio.sleep(1.0)  # let the clock settle
        # Phase 1: flat out, nobody at the keyboard.
        cpu0 = time.process_time()
        model0 = app.session.model_cpu_s_total
        ui0 = app.ui_s_total
        t_model0 = app.session.host.t
        wall0 = time.perf_counter()
        await asyncio.sleep(seconds)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        model = app.session.model_cpu_s_total - model0
        ui = app.ui_s_total - ui0
        sim = app.session.host.t - t_model0
        # Phase 2: flat out, a Down (or Up) key every 0.25 s.
        start_keys = time.perf_counter()
        direction = "down"
        while time.perf_counter() - start_keys < seconds:
            row = table.cursor_row
            if row >= table.row_count - 2:
                direction = "up"
            elif row <= 1:
                direction = "down"
            start = time.perf_counter()
            app.post_message(events.Key(direction, None))
            while table.cursor_row == row:
                await asyncio.sleep(0.001)
            latencies_handled.append(time.perf_counter() - start)
            painted = asyncio.get_running_loop().create_future()
            app.call_after_refresh(lambda f=painted: f.done() or f.set_result(time.perf_counter()))
            latencies_frame.append(await painted - start)
            await asyncio.sleep(0.25)
        app.set_running(False)
        rss = proc.memory_info().rss / (1024 * 1024)
    return {
        "profile": name, "vms": len(profile.vms), "wall_s": wall,
        "sim_x": sim / wall, "cpu_ms_per_s": 1000 * cpu / wall, "model_ms_per_s": 1000 * model / wall,
        "ui_ms_per_s": 1000 * (cpu - model) / wall, "refresh_ms_per_s": 1000 * ui / wall,
        "key_handled_ms_max": 1000 * max(latencies_handled),
        "key_handled_ms_p95": 1000 * _p95(latencies_handled),
        "key_frame_ms_max": 1000 * max(latencies_frame),
        "key_frame_ms_p95": 1000 * _p95(latencies_frame),
        "keys": len(latencies_handled), "rss_mb": rss,
    }


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def measure_flat_out(seconds: float) -> dict:
    env = dict(os.environ)
    env.setdefault("MEMTUI_HOME", _HOME)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-flat-out", str(seconds)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"flat-out child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    import psutil

    freq = psutil.cpu_freq()
    mhz = f", {freq.max or freq.current:.0f} MHz" if freq else ""
    return (f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} CPUs{mhz}, "
            f"{psutil.virtual_memory().total / 2**30:.1f} GiB; Python {platform.python_version()}; "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="first-frame runs of each app (median)")
    p.add_argument("--seconds", type=float, default=10.0, help="wall seconds of the flat-out run")
    p.add_argument("--quick", action="store_true", help="3 runs, 4 seconds")
    p.add_argument("--first-frame-only", action="store_true", help="only the first-frame figures")
    p.add_argument("--no-bytecode-cache", action="store_true",
                   help="first frames with every module compiled from source at each start")
    p.add_argument("--child-flat-out", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_flat_out is not None:
        print(json.dumps(asyncio.run(_flat_out(args.child_flat_out))))
        return 0
    runs, seconds = (3, 4.0) if args.quick else (args.runs, args.seconds)
    import textual

    print(f"machine: {machine()}; textual {textual.__version__}")
    ff = measure_first_frame(runs, not args.no_bytecode_cache)
    ok_ff = ff["ratio"] <= FIRST_FRAME_RATIO_TARGET
    cache = "no bytecode cache" if args.no_bytecode_cache else "bytecode cached"
    print(f"first frame: bare Textual app {ff['bare_s'] * 1000:.0f} ms, memtui (default profile) "
          f"{ff['memtui_s'] * 1000:.0f} ms: {ff['ratio']:.2f}x (target <= {FIRST_FRAME_RATIO_TARGET}x) "
          f"{'ok' if ok_ff else 'MISSED'}  [median of {runs}, {cache}; per-run ratios "
          f"{ff['ratios'][0]:.2f}x to {ff['ratios'][-1]:.2f}x]")
    print(f"  the host's figures on the screen (model loaded in its worker) after "
          f"{ff['figures_s'] * 1000:.0f} ms")
    if args.first_frame_only:
        return 0 if ok_ff else 1
    fo = measure_flat_out(seconds)
    ok_ui = fo["ui_ms_per_s"] <= UI_MS_PER_S_TARGET
    ok_key = fo["key_frame_ms_max"] <= KEY_MS_TARGET
    ok_rss = fo["rss_mb"] < RSS_MB_TARGET
    print(f"flat out: {fo['profile']} ({fo['vms']} VMs) at 3600x for {fo['wall_s']:.1f} s: model "
          f"keeps {fo['sim_x']:.0f}x")
    print(f"  UI work {fo['ui_ms_per_s']:.0f} ms per wall second (of which pane updates "
          f"{fo['refresh_ms_per_s']:.0f} ms; model {fo['model_ms_per_s']:.0f} ms) "
          f"(target <= {UI_MS_PER_S_TARGET:.0f}) {'ok' if ok_ui else 'MISSED'}")
    print(f"  key press: handled in {fo['key_handled_ms_p95']:.0f} ms p95 / {fo['key_handled_ms_max']:.0f} ms "
          f"max, on screen in {fo['key_frame_ms_p95']:.0f} ms p95 / {fo['key_frame_ms_max']:.0f} ms max "
          f"({fo['keys']} keys) (target <= {KEY_MS_TARGET:.0f}) {'ok' if ok_key else 'MISSED'}")
    print(f"  resident memory {fo['rss_mb']:.0f} MB (target < {RSS_MB_TARGET:.0f}) "
          f"{'ok' if ok_rss else 'MISSED'}")
    return 0 if ok_ff and ok_ui and ok_key and ok_rss else 1


import asyncio  # noqa: E402  (used by the child only; kept out of the first-frame path)

if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
