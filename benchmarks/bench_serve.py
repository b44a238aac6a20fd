"""Load on the vSphere API endpoint: N pyVmomi clients polling quick stats. Prints figures and
the machine.

    python benchmarks/bench_serve.py [--clients 20] [--seconds 30] [--speed 60] [--profile FILE]

Starts `memtui serve` as a real process on a free loopback port (its own empty MEMTUI_HOME),
then N client threads, each with its own pyVmomi session (SmartConnect), each reading every
VM's summary.quickStats with one RetrievePropertiesEx through a container view, as a
monitoring script does, back to back for the given wall time. Reports the calls made, the
errors (any exception a call raised), the latency percentiles of a poll (p50, p90, p99, max),
the polls per second, and the server's CPU and resident memory (psutil) over the window.
The server is stopped with SIGTERM at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil


def start_server(profile: str | None, speed: float, home: str):
    env = dict(os.environ, MEMTUI_HOME=home, MEMTUI_API_PASSWORD="bench")
    args = [sys.executable, "-m", "memtui", "serve", "--port", "0", "--speed", str(speed)]
    if profile:
        args.insert(4, profile)
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"https://127\.0\.0\.1:(\d+)/sdk", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, int(m.group(1))
    proc.kill()
    raise SystemExit("memtui serve did not start")


def client(port: int, stop: threading.Event, latencies: list, errors: list, polls: list) -> None:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl

    PC = vmodl.query.PropertyCollector
    try:
        si = SmartConnect(host="127.0.0.1", port=port, user="root", pwd="bench", disableSslCertValidation=True)
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[
                PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)])],
            propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "summary.quickStats"])])
        pc = content.propertyCollector
    except Exception as exc:
        errors.append(f"connect: {exc!r}")
        return
    while not stop.is_set():
        start = time.perf_counter()
        try:
            result = pc.RetrievePropertiesEx([spec], PC.RetrieveOptions())
            if not result or not result.objects:
                raise RuntimeError("no VMs in the result")
        except Exception as exc:
            errors.append(repr(exc))
            continue
        latencies.append(time.perf_counter() - start)
        polls.append(len(result.objects))
    try:
        Disconnect(si)
    except Exception as exc:
        errors.append(f"logout: {exc!r}")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=60.0, help="the host's --speed")
    ap.add_argument("--profile", help="host profile (default: the bundled default, 10 VMs)")
    args = ap.parse_args(argv)
    home = tempfile.mkdtemp(prefix="memtui-bench-serve-")
    proc, port = start_server(args.profile, args.speed, home)
    server = psutil.Process(proc.pid)
    try:
        stop = threading.Event()
        latencies: list[float] = []
        errors: list[str] = []
        polls: list[int] = []
        threads = [threading.Thread(target=client, args=(port, stop, latencies, errors, polls), daemon=True)
                   for _ in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(2)  # every client logged in
        latencies.clear()
        polls.clear()
        cpu0 = server.cpu_times()
        rss = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.seconds:
            time.sleep(1)
            rss.append(server.memory_info().rss / 2**20)
        wall = time.monotonic() - t0
        cpu1 = server.cpu_times()
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        for p in Path(home).glob("*"):
            p.unlink()
        os.rmdir(home)
    cpu_pct = 100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall
    ms = [x * 1000 for x in latencies]
    print(f"machine: {platform.machine()} {psutil.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"clients: {args.clients}, window: {wall:.1f} s, host speed {args.speed:g}x, "
          f"VMs per poll: {statistics.mean(polls) if polls else 0:.0f}")
    print(f"polls: {len(ms)} ({len(ms) / wall:.1f}/s), errors: {len(errors)}")
    if ms:
        print(f"poll latency ms: p50 {pct(ms, 50):.1f}, p90 {pct(ms, 90):.1f}, p99 {pct(ms, 99):.1f}, "
              f"max {max(ms):.1f}")
    print(f"server: CPU {cpu_pct:.0f} % of one core, RSS {statistics.mean(rss):.0f} MB average, "
          f"{max(rss):.0f} MB highest")
    for e in errors[:5]:
        print(f"  error: {e}")
    print(f"server exit status after SIGTERM: {proc.returncode}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
