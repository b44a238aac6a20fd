"""How many memtui sessions one training host can hold. Prints figures and the machine.

    python benchmarks/bench_sessions.py [--window S] [--concurrent N] [--size WxH] [--quick]

Starts real `memtui --restricted` sessions, each in a detached tmux session of its own (a private
tmux server, `tmux -L memtui-bench-PID`) with its own empty MEMTUI_HOME, as a student's SSH
session would run it, lets each settle, then samples it with psutil for S wall seconds:

1. idle: the clock paused (`space`), as a student reading the screen;
2. running at 1x, the speed memtui starts at (a student who never touched the speed keys);
3. running at 60x (`+` until the status line says 1m/s) on the bundled default profile;
4. a lab: `memtui lab start NAME` (swap-storm), run at 30x: a lab ends, and its clock stops,
   when its simulated time is up (30 minutes for swap-storm: 60 s of wall time at 30x), so its
   speed is chosen to outlast settling and the window. Skipped, with what it printed, when
   `memtui lab start` does not open the terminal UI;
5. N sessions running at 60x side by side, to check that the per-session figures hold.

For each: resident memory (RSS; USS, the memory only this process holds, and PSS when the
platform gives them) averaged and at its highest over the window, CPU (user + system time over
wall time, in % of one core), the simulated speed actually kept (from the status line's clock),
the terminal output memtui wrote (what sshd would carry, before compression and encryption)
and the tmux server's CPU (standing in for sshd's share of the terminal work), plus the CPU
time and wall time each session took to start. Other processes' CPU use on the machine during
each window is reported too: the figures are only as quiet as the machine.

Then it estimates how many sessions fit on a 2-core, 24 GB machine (`--cores`, `--mem-gb` for
another) when all are paused, all left running at 1x, all running at 60x (or the lab, if it
costs more), and for classes with a share running, with the headroom stated (`--reserve-gb`,
`--cpu-use`, `--sshd-mb`), and what limits each: memory or CPU.

Everything it starts is stopped and every temporary folder removed at the end, also on an error
or Ctrl-C: the tmux server is killed (memtui exits on the SIGHUP), then any of the sessions'
processes still there are killed by their pid.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

try:
    import psutil
except ImportError:  # pragma: no cover
    sys.exit("bench_sessions: psutil is needed (python3 -m pip install psutil)")

# the speeds as the status line shows them, slowest first (`+` and `-` step through them)
SPEEDS = ("1x", "2x", "5x", "10x", "30x", "1m/s", "2m/s", "5m/s", "10m/s", "30m/s", "1h/s")
SPEED_RE = re.compile(r"(?:running|paused) (\S+)")
START_TIMEOUT_S = 60.0
KEY_TIMEOUT_S = 15.0
CLOCK_RE = re.compile(r"\b(\d+):(\d\d):(\d\d)\b")


# --------------------------------------------------------------------------------------------
# the machine


def machine() -> str:
    freq = psutil.cpu_freq()
    mhz = f" at {freq.current:.0f} MHz" if freq and freq.current else ""
    vm = psutil.virtual_memory()
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    return (f"{platform.machine()}, {psutil.cpu_count(logical=True)} CPUs "
            f"({psutil.cpu_count(logical=False) or '?'} physical){mhz}, "
            f"{vm.total / 2**30:.1f} GiB ({vm.available / 2**30:.1f} GiB available); "
            f"Python {platform.python_version()}; {platform.system()} {platform.release()}; {tmux}")


def load_line() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average: n/a"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


# --------------------------------------------------------------------------------------------
# tmux


class Tmux:
    """A private tmux server: its own socket name, and a configuration file of one line that
    keeps a pane whose program ended on screen (to show why)."""

    def __init__(self, width: int, height: int, folder: str) -> None:
        self.socket = f"memtui-bench-{os.getpid()}"
        self.width = width
        self.height = height
        self.conf = os.path.join(folder, "tmux.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("set-option -g remain-on-exit on\n")
        self.started = False
        self.socket_path = ""

    def run(self, *args: str, check: bool = True) -> str:
        res = subprocess.run(["tmux", "-L", self.socket, "-f", self.conf, *args],
                             capture_output=True, text=True, timeout=20)
        if check and res.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {res.stderr.strip() or res.returncode}")
        return res.stdout

    def new_session(self, name: str, command: str, env: dict[str, str]) -> int:
        """Start `command` in a detached session; the pid of the pane's process."""
        opts: list[str] = []
        for key, value in env.items():
            opts += ["-e", f"{key}={value}"]
        self.run("new-session", "-d", "-s", name, "-x", str(self.width), "-y", str(self.height),
                 *opts, command)
        if not self.started:
            self.socket_path = self.run("display-message", "-p", "#{socket_path}").strip()
        self.started = True
        return int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def server_pid(self) -> int | None:
        out = self.run("display-message", "-p", "#{pid}", check=False).strip()
        return int(out) if out.isdigit() else None

    def screen(self, name: str) -> list[str]:
        return self.run("capture-pane", "-p", "-t", name, check=False).splitlines()

    def status(self, name: str) -> str:
        lines = self.screen(name)
        return lines[0] if lines else ""

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", name, *keys)

    def pipe_output(self, name: str, path: str) -> None:
        """Copy everything the pane's program writes to the terminal into `path`."""
        self.run("pipe-pane", "-t", name, f"cat >> {shlex.quote(path)}")

    def stop_pipe(self, name: str) -> None:
        self.run("pipe-pane", "-t", name, check=False)

    def kill_session(self, name: str) -> None:
        self.run("kill-session", "-t", name, check=False)

    def kill_server(self) -> None:
        """Stop the server and remove its socket file (tmux 3.3 leaves it behind)."""
        if self.started:
            self.run("kill-server", check=False)
            self.started = False
        if self.socket_path:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


# --------------------------------------------------------------------------------------------
# measuring


def tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants (the pane runs memtui itself, or a shell around it)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def memory(procs: list[psutil.Process]) -> tuple[float, float | None, float | None]:
    """RSS, USS and PSS in MB, summed over the processes (None where not available)."""
    rss = 0.0
    uss: float | None = 0.0
    pss: float | None = 0.0
    for p in procs:
        try:
            info = p.memory_full_info()
        except (psutil.AccessDenied, AttributeError):
            info = None
        except psutil.NoSuchProcess:
            continue
        if info is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                rss += p.memory_info().rss / 2**20
            uss = pss = None
            continue
        rss += info.rss / 2**20
        uss = None if uss is None or not hasattr(info, "uss") else uss + info.uss / 2**20
        pss = None if pss is None or not hasattr(info, "pss") else pss + info.pss / 2**20
    return rss, uss, pss


def sim_clock(status: str) -> int | None:
    m = CLOCK_RE.search(status)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) if m else None


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs together)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


@dataclass
class Session:
    name: str
    pid: int
    home: str
    started_at: float
    out_path: str = ""
    startup_wall_s: float | None = None
    startup_cpu_s: float | None = None


@dataclass
class Figures:
    """One session's figures over the measuring window."""

    name: str
    cpu_pct: float
    rss_mean: float
    rss_max: float
    uss_mean: float | None
    uss_max: float | None
    pss_mean: float | None
    sim_speed: float | None
    out_kb_s: float | None
    status: str
    startup_wall_s: float | None
    startup_cpu_s: float | None


@dataclass
class Window:
    """What one measuring window found: each session, the tmux server, the rest of the machine."""

    sessions: list[Figures] = field(default_factory=list)
    tmux_cpu_pct: float = 0.0
    others_cpu_pct: float = 0.0
    seconds: float = 0.0


def measure(tmux: Tmux, sessions: list[Session], seconds: float, interval: float = 1.0) -> Window:
    procs = {s.name: tree(s.pid) for s in sessions}
    server = tree(tmux.server_pid() or -1)[:1]
    clocks0 = {s.name: sim_clock(tmux.status(s.name)) for s in sessions}
    outs0 = {s.name: _size(s.out_path) for s in sessions}
    cpu0 = {n: cpu_seconds(p) for n, p in procs.items()}
    server0 = cpu_seconds(server)
    busy0 = busy_seconds()
    t0 = time.monotonic()
    samples: dict[str, list[tuple[float, float | None, float | None]]] = {s.name: [] for s in sessions}
    while True:
        for name, p in procs.items():
            samples[name].append(memory(p))
        left = t0 + seconds - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
    wall = time.monotonic() - t0
    cpu1 = {n: cpu_seconds(p) for n, p in procs.items()}
    server1 = cpu_seconds(server)
    busy1 = busy_seconds()
    win = Window(seconds=wall)
    ours = 0.0
    for s in sessions:
        status = tmux.status(s.name)
        c0, c1 = clocks0[s.name], sim_clock(status)
        rows = samples[s.name]
        rss = [r[0] for r in rows]
        uss = [r[1] for r in rows if r[1] is not None]
        pss = [r[2] for r in rows if r[2] is not None]
        used = cpu1[s.name] - cpu0[s.name]
        ours += used
        out = (_size(s.out_path) - outs0[s.name]) / 1024 / wall if s.out_path else None
        win.sessions.append(Figures(
            name=s.name, cpu_pct=100 * used / wall,
            rss_mean=_mean(rss), rss_max=max(rss, default=0.0),
            uss_mean=_mean(uss) if uss else None, uss_max=max(uss) if uss else None,
            pss_mean=_mean(pss) if pss else None,
            sim_speed=(c1 - c0) / wall if c0 is not None and c1 is not None else None,
            out_kb_s=out, status=status.strip(),
            startup_wall_s=s.startup_wall_s, startup_cpu_s=s.startup_cpu_s))
    server_used = server1 - server0
    win.tmux_cpu_pct = 100 * server_used / wall
    win.others_cpu_pct = max(0.0, 100 * (busy1 - busy0 - ours - server_used) / wall)
    return win


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


# --------------------------------------------------------------------------------------------
# the bench


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = tempfile.mkdtemp(prefix="memtui-bench-sessions-")
        self.tmux = Tmux(args.width, args.height, self.root)
        self.memtui = _memtui_command()
        self.pids: list[int] = []
        self.count = 0

    # -- starting and stopping

    def start(self, argv: str, *, pipe: bool = False) -> Session:
        self.count += 1
        name = f"s{self.count}"
        home = os.path.join(self.root, name)
        os.makedirs(home, mode=0o700)
        command = f"exec {self.memtui} {argv}"
        env = {"MEMTUI_HOME": home, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        t0 = time.monotonic()
        pid = self.tmux.new_session(name, command, env)
        self.pids.append(pid)
        session = Session(name, pid, home, t0)
        if pipe:
            session.out_path = os.path.join(self.root, f"{name}.out")
            self.tmux.pipe_output(name, session.out_path)
        return session

    def wait_screen(self, s: Session, timeout: float = START_TIMEOUT_S) -> bool:
        """Wait for memtui's first screen (its status line with the clock); records the time and
        CPU it took. False when the program ended or nothing came in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.tmux.status(s.name)
            if "ESX" in line and sim_clock(line) is not None:
                s.startup_wall_s = time.monotonic() - s.started_at
                s.startup_cpu_s = cpu_seconds(tree(s.pid))
                return True
            if not _alive(s.pid):
                return False
            time.sleep(0.1)
        return False

    def wait_status(self, s: Session, words: str, timeout: float = KEY_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if words in self.tmux.status(s.name):
                return True
            time.sleep(0.1)
        return False

    def why(self, s: Session) -> str:
        """The last lines on a session's screen (a program that ended leaves them there)."""
        said = [line.strip() for line in self.tmux.screen(s.name) if line.strip()]
        return " / ".join(said[-3:]) or "nothing on the screen"

    def to_speed(self, s: Session, speed: str = "1m/s") -> None:
        """Run the clock (if paused) at `speed` (as the status line shows it: 60x is 1m/s),
        pressing `+` or `-` until the status line says so."""
        if "paused" in self.tmux.status(s.name):
            self.tmux.keys(s.name, "Space")
            if not self.wait_status(s, "running"):
                raise RuntimeError(f"{s.name}: did not run; status: {self.tmux.status(s.name)!r}")
        for _ in range(2 * len(SPEEDS)):
            m = SPEED_RE.search(self.tmux.status(s.name))
            if m and m[1] == speed:
                return
            faster = m is None or m[1] not in SPEEDS or SPEEDS.index(m[1]) < SPEEDS.index(speed)
            before = m[1] if m else None
            self.tmux.keys(s.name, "+" if faster else "-")
            deadline = time.monotonic() + KEY_TIMEOUT_S
            while time.monotonic() < deadline:
                m = SPEED_RE.search(self.tmux.status(s.name))
                if m and m[1] != before:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"{s.name}: did not reach {speed}; status: {self.tmux.status(s.name)!r}")

    def pause(self, s: Session) -> None:
        self.tmux.keys(s.name, "Space")
        if not self.wait_status(s, "paused"):
            raise RuntimeError(f"{s.name}: did not pause; status line: {self.tmux.status(s.name)!r}")

    def stop(self, s: Session) -> None:
        self.tmux.stop_pipe(s.name)
        procs = tree(s.pid)
        self.tmux.kill_session(s.name)   # SIGHUP: memtui leaves at once
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()

    def cleanup(self) -> None:
        procs = [p for pid in self.pids for p in tree(pid)]
        with contextlib.suppress(Exception):
            self.tmux.kill_server()
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the phases

    def single(self, label: str, mode: str) -> Window:
        s = self.start("--restricted", pipe=True)
        if not self.wait_screen(s):
            raise RuntimeError(f"memtui did not start: {self.why(s)}")
        if not self.wait_status(s, "running 1x"):
            raise RuntimeError(f"memtui did not start running at 1x: {self.tmux.status(s.name)!r}")
        if mode == "idle":
            self.pause(s)
        elif mode == "60x":
            self.to_speed(s)
        print(f"  {label}: settling {self.args.settle:g} s, measuring {self.args.window:g} s ...",
              flush=True)
        time.sleep(self.args.settle)
        win = measure(self.tmux, [s], self.args.window)
        self.stop(s)
        return win

    def lab(self, name: str) -> tuple[Window | None, str]:
        """`memtui lab start NAME` in a session: measured at --lab-speed if it opens the UI."""
        s = self.start(f"lab start {shlex.quote(name)}", pipe=True)
        if not self.wait_screen(s):
            time.sleep(0.5)
            said = self.why(s)
            self.stop(s)
            return None, said
        try:
            self.to_speed(s, self.args.lab_speed)
        except RuntimeError as exc:
            self.stop(s)
            return None, str(exc)
        print(f"  lab {name} at {self.args.lab_speed}: settling {self.args.settle:g} s, measuring "
              f"{self.args.window:g} s ...", flush=True)
        time.sleep(self.args.settle)
        win = measure(self.tmux, [s], self.args.window)
        self.stop(s)
        return win, ""

    def concurrent(self, n: int) -> Window:
        sessions = [self.start("--restricted") for _ in range(n)]
        for s in sessions:
            if not self.wait_screen(s):
                raise RuntimeError(f"{s.name}: memtui did not start: {self.why(s)}")
        for s in sessions:
            self.wait_status(s, "running")
            self.to_speed(s)
        print(f"  {n} running at 60x: settling {self.args.settle:g} s, measuring "
              f"{self.args.window:g} s ...", flush=True)
        time.sleep(self.args.settle)
        win = measure(self.tmux, sessions, self.args.window)
        for s in sessions:
            self.stop(s)
        return win


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _memtui_command() -> str:
    exe = shutil.which("memtui")
    if exe:
        return shlex.quote(exe)
    return f"{shlex.quote(sys.executable)} -m memtui"


# --------------------------------------------------------------------------------------------
# printing and the estimate


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f}"


def print_window(label: str, win: Window) -> None:
    for f in win.sessions:
        speed = "n/a" if f.sim_speed is None else f"{f.sim_speed:.0f}x"
        out = "" if f.out_kb_s is None else f", terminal output {f.out_kb_s:.1f} KB/s"
        start = ("" if f.startup_wall_s is None else
                 f"; started in {f.startup_wall_s:.2f} s wall, {f.startup_cpu_s:.2f} s CPU")
        who = label if len(win.sessions) == 1 else f"{label} [{f.name}]"
        print(f"  {who}: CPU {f.cpu_pct:.1f}%, RSS {f.rss_mean:.0f} MB (max {f.rss_max:.0f}), "
              f"USS {_mb(f.uss_mean)} MB (max {_mb(f.uss_max)}), PSS {_mb(f.pss_mean)} MB, "
              f"simulated {speed}{out}{start}")
    print(f"    tmux server CPU {win.tmux_cpu_pct:.1f}%; other processes on the machine "
          f"{win.others_cpu_pct:.0f}% (of one core) over {win.seconds:.0f} s")


@dataclass
class PerSession:
    label: str
    cpu_pct: float      # memtui + its share of the terminal side (tmux here, sshd in production)
    mem_mb: float       # highest RSS + what sshd needs per connection


def estimate(idle: PerSession, slow: PerSession, running: PerSession,
             args: argparse.Namespace) -> None:
    cores, mem_gb = args.cores, args.mem_gb
    cpu_budget = 100.0 * cores * args.cpu_use
    mem_budget = (mem_gb - args.reserve_gb) * 1024.0
    print(f"\nEstimate for a {cores}-core, {mem_gb:g} GB machine. Headroom assumed: "
          f"{args.reserve_gb:g} GB kept for the system, sshd's listener and the page cache; "
          f"at most {args.cpu_use:.0%} of the CPU in steady use ({cpu_budget:.0f}% of one core), "
          f"the rest for logins, key presses and sshd's encryption; per session the highest "
          f"RSS (which counts shared libraries in full: conservative) plus {args.sshd_mb:g} MB "
          f"for the connection's sshd processes, and memtui's CPU plus the tmux server's share "
          f"(standing in for sshd's work on the terminal output).")
    for ps in (idle, slow, running):
        by_mem = int(mem_budget // ps.mem_mb)
        by_cpu = int(cpu_budget // max(ps.cpu_pct, 0.01))
        limit = "memory" if by_mem <= by_cpu else "CPU"
        print(f"  {ps.label}: {min(by_mem, by_cpu)} sessions ({limit} limits it: {by_mem} by memory "
              f"at {ps.mem_mb:.0f} MB each, {by_cpu} by CPU at {ps.cpu_pct:.1f}% each)")
    for share in (0.5, 0.25):
        cpu = share * running.cpu_pct + (1 - share) * idle.cpu_pct
        mem = share * running.mem_mb + (1 - share) * idle.mem_mb
        by_mem, by_cpu = int(mem_budget // mem), int(cpu_budget // max(cpu, 0.01))
        limit = "memory" if by_mem <= by_cpu else "CPU"
        print(f"  a class with {share:.0%} of its sessions running at 60x, the rest paused: "
              f"{min(by_mem, by_cpu)} ({limit})")


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--window", type=float, default=25.0, help="seconds measured per phase (25)")
    p.add_argument("--settle", type=float, default=8.0,
                   help="seconds a session runs before it is measured (8)")
    p.add_argument("--concurrent", type=int, default=4, help="sessions run side by side (4)")
    p.add_argument("--size", default="100x30", help="terminal size, WIDTHxHEIGHT (100x30)")
    p.add_argument("--lab", default="swap-storm",
                   help="the lab for phase 4 (swap-storm: the longest, 30 simulated minutes)")
    p.add_argument("--lab-speed", default="30x", choices=SPEEDS,
                   help="its speed (30x): a lab ends when its time is up, and the clock stops "
                        "then, so its duration must outlast settling and the window")
    p.add_argument("--quick", action="store_true", help="8 s windows, 3 s settling, 2 side by side")
    p.add_argument("--cores", type=int, default=2, help="the machine to estimate for: cores (2)")
    p.add_argument("--mem-gb", type=float, default=24.0, help="... and memory in GB (24)")
    p.add_argument("--reserve-gb", type=float, default=2.0,
                   help="memory kept for everything else (2 GB)")
    p.add_argument("--cpu-use", type=float, default=0.75,
                   help="share of the CPU sessions may use in steady state (0.75)")
    p.add_argument("--sshd-mb", type=float, default=20.0,
                   help="memory of one SSH connection's own processes (20 MB: measured RSS of "
                        "sshd [priv] 11 MB, sshd user@pts 7 MB and the `sh -c` of ForceCommand "
                        "2 MB, OpenSSH 9.2 on Debian 12)")
    args = p.parse_args(argv)
    try:
        w, h = args.size.lower().split("x")
        args.width, args.height = int(w), int(h)
    except ValueError:
        p.error(f"--size: expected WIDTHxHEIGHT, e.g. 100x30, not {args.size!r}")
    if args.quick:
        args.window, args.settle, args.concurrent = 8.0, 3.0, 2
    return args


def _on_signal(signum, frame):  # noqa: ARG001
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("tmux") is None:
        print("bench_sessions: tmux is needed", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    print(f"machine: {machine()}")
    print(f"before: {load_line()}; {psutil.cpu_percent(interval=1.0):.0f}% of all CPUs busy "
          f"over 1 s (other work on this machine shows here and in each window)")
    bench = Bench(args)
    print(f"memtui: {bench.memtui} --restricted, terminal {args.width}x{args.height}, "
          f"default profile, MEMTUI_HOME a fresh folder per session; CPU in % of one core")
    try:
        idle = bench.single("idle (paused)", "idle")
        run1 = bench.single("running 1x", "1x")
        run60 = bench.single("running 60x", "60x")
        lab, why = bench.lab(args.lab)
        many = bench.concurrent(args.concurrent) if args.concurrent > 0 else None
    finally:
        bench.cleanup()
    print()
    print_window("idle (paused)", idle)
    print_window("running 1x", run1)
    print_window("running 60x", run60)
    if lab is not None:
        print_window(f"lab {args.lab} at {args.lab_speed}", lab)
        if "paused" in lab.sessions[0].status:
            print("    (the lab ended inside the window and its clock stopped: choose a slower "
                  "--lab-speed, a shorter --window or a longer --lab)")
    else:
        print(f"  lab: skipped: `memtui lab start {args.lab}` did not open the terminal UI "
              f"(it printed: {why})")
    if many is not None:
        print_window(f"{args.concurrent} side by side at 60x", many)
        cpus = [f.cpu_pct for f in many.sessions]
        rss = [f.rss_max for f in many.sessions]
        pss = [f.pss_mean for f in many.sessions if f.pss_mean is not None]
        print(f"    per session: CPU mean {_mean(cpus):.1f}% (max {max(cpus):.1f}%), highest RSS "
              f"mean {_mean(rss):.0f} MB" + (f", PSS mean {_mean(pss):.0f} MB" if pss else "")
              + f"; all {args.concurrent}: CPU {sum(cpus):.0f}%, "
              + (f"PSS {sum(pss):.0f} MB" if pss else f"RSS {sum(rss):.0f} MB"))

    def per(label: str, wins: list[Window]) -> PerSession:
        cpu = max(_mean([f.cpu_pct for f in w.sessions]) + w.tmux_cpu_pct / len(w.sessions)
                  for w in wins)
        mem = max(f.rss_max for w in wins for f in w.sessions)
        return PerSession(label, cpu, mem + args.sshd_mb)

    running_wins = [run60] + ([many] if many is not None else []) + ([lab] if lab is not None else [])
    estimate(per("idle (paused)", [idle]), per("left running at 1x, as started", [run1]),
             per("running at 60x (or the lab)", running_wins), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
