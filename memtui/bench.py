"""`memtui bench`: how fast the model steps, how soon `memtui run` starts, how long whole runs take.

Prints the machine, then three tables, each figure twice: "reference" (the plain path: the model's
plain stepping where it has one, and the batch writer that builds Snapshot objects and uses the
json module) and "fast" (the paths `memtui run` takes):

  start-up   the first sample of `memtui run`, as a subprocess, on the default profile and on
             profiles/bench-1024.toml;
  stepping   simulated seconds per wall second, in-process, for synthetic hosts of 8, 64, 320
             and 1,024 powered-on VMs (about 1.3x overcommitted, so every reclamation path runs);
  whole runs `memtui run` of the 64-VM hour (mixed 1-4 GB VMs, three content families, one
             sample a minute) and of a 1,024-VM hour sampled every 10 s, written to a null sink;
             and the cost of writing one VM record of a sample.

Each goal is marked met or MISSED; the exit status is 1 when any goal is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from memtui.config import Event, HostConfig, Profile, VMConfig, Workload
from memtui.model import Host

SIZES = (8, 64, 320, 1024)
STEP_GOALS_X = {64: 10_000.0, 1024: 3_000.0}  # simulated s per wall s, fast path
FIRST_SAMPLE_GOALS_S = {"default": 0.2, "bench-1024": 0.4}
WHOLE_RUN_GOALS_S = {"64-VM hour": 0.6, "1,024-VM hour": 3.0}

_KINDS = (  # (memory MB, vCPUs, active MB, family, zero %, family %)
    (4096, 2, 1500, "win2008", 15, 30),
    (2048, 1, 400, "win7", 25, 35),
    (8192, 4, 5000, "rhel5", 5, 15),
    (1024, 1, 150, "win7", 30, 35),
)


def synthetic_profile(n_vms: int, overcommit: float = 1.3, seed: int = 1) -> Profile:
    """A host of `n_vms` powered-on VMs whose configured memory is `overcommit` times the
    memory the host can give them."""
    version = "4.0" if n_vms <= 320 else "6.x"
    vms = []
    for i in range(n_vms):
        mem, cpus, active, family, zero, fam = _KINDS[i % len(_KINDS)]
        vms.append(VMConfig(
            name=f"vm{i:04d}", memory_mb=mem, vcpus=cpus, content_family=family,
            reservation_mb=512 if i % 10 == 0 else 0, tools=i % 7 != 3,
            shares="high" if i % 5 == 0 else "normal",
            workload=Workload(active_mb=active, zero_pct=zero, family_pct=fam, dup_pct=3,
                              boot_s=60 + (i * 7) % 120),
        ))
    configured = sum(v.memory_mb for v in vms)
    memory = int(configured / overcommit) + 1024
    memory = max(memory, 4096)
    host = HostConfig(name=f"bench{n_vms}", memory_mb=memory, system_mb=800, esx_version=version,
                      cpu_cores=16, cpu_mhz=2600, seed=seed, datastore_free_mb=10_000_000,
                      swap_mb_per_s=400)
    return Profile(host=host, vms=vms)


_FAMILIES = (  # content family, zero %, family %
    ("win2008", 15, 30), ("win7", 25, 35), ("rhel6", 5, 15),
)


def hour_profile(n_vms: int = 64, overcommit: float = 1.25, seed: int = 7) -> Profile:
    """A mixed host for an hour's run: VMs of 1 to 4 GB in three content families, working sets
    that change during the hour (schedules), a few VMs without a balloon driver, some
    reservations, high shares here and there, and a timeline event or two; about `overcommit`
    times more memory configured than the host can give."""
    rnd = random.Random(seed)
    vms = []
    for i in range(n_vms):
        mem = rnd.choice((1024, 2048, 3072, 4096))
        family, zero, fam = _FAMILIES[i % len(_FAMILIES)]
        active = round(mem * rnd.uniform(0.1, 0.6))
        schedule = []
        if i % 3 == 0:  # a busy spell in the hour
            start = rnd.randrange(5, 40) * 60
            schedule = [(0, float(active)), (start, float(round(mem * rnd.uniform(0.5, 0.9)))),
                        (start + rnd.randrange(5, 15) * 60, float(active))]
        vms.append(VMConfig(
            name=f"vm{i:03d}", memory_mb=mem, vcpus=rnd.choice((1, 2, 2, 4)),
            reservation_mb=512 if i % 8 == 0 else 0, tools=i % 11 != 5,
            shares="high" if i % 6 == 0 else "normal", content_family=family,
            workload=Workload(active_mb=active, zero_pct=zero, family_pct=fam,
                              dup_pct=rnd.choice((1, 2, 3, 5)), boot_s=rnd.randrange(30, 180),
                              schedule=schedule),
        ))
    configured = sum(v.memory_mb for v in vms)
    host = HostConfig(name=f"mixed{n_vms}", memory_mb=max(4096, int(configured / overcommit) + 800),
                      system_mb=800, esx_version="5.x", cpu_cores=16, cpu_mhz=2600, seed=seed,
                      datastore_free_mb=2_000_000, swap_mb_per_s=200)
    events = [Event(at_s=1800, set={"Mem.IdleTax": 50}),
              Event(at_s=2400, vm=vms[1].name, set={"power": "off"})]
    return Profile(host=host, vms=vms, events=events)


# ---------------------------------------------------------------- measuring

class _Null:
    """A text sink that keeps nothing (what /dev/null is to a subprocess)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


# `memtui run` by the plain path: the same run, the reference writer and stepping.
_REFERENCE_RUN = """
import sys
from memtui.batch import run_batch
from memtui.model import Host
from memtui.profile import load_profile
path, duration, every, fmt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
run_batch(Host.from_profile(load_profile(path)), duration, every, fmt, sys.stdout, reference=True)
"""


def run_command(path: str, duration_s: int, every_s: int, fmt: str, reference: bool) -> list[str]:
    """The command line of a `memtui run` (fast) or of the same run by the plain path."""
    if reference:
        return [sys.executable, "-c", _REFERENCE_RUN, path, str(duration_s), str(every_s), fmt]
    return [sys.executable, "-m", "memtui", "run", path, "--for", f"{duration_s}s", "--every",
            f"{every_s}s", "--format", fmt]


def subprocess_env(workdir: str) -> dict[str, str]:
    """The environment of the timed subprocesses: Python's bytecode cached (in `workdir`), as
    an installed memtui has it, even where the environment turns the cache off; a warm-up run
    fills it before anything is timed."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(workdir, "pycache")
    return env


def first_sample_s(path: str, reference: bool, env: dict[str, str] | None = None) -> float:
    """Wall seconds from starting `memtui run` to reading its first sample line."""
    cmd = run_command(path, 10, 10, "jsonl", reference)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    while True:
        line = proc.stdout.readline()
        if not line or line.startswith('{"type": "sample"'):
            break
    wall = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"memtui run failed (exit {proc.returncode}): {err.strip()[-300:]}")
    return wall


def whole_run_s(path: str, duration_s: int, every_s: int, reference: bool,
                env: dict[str, str] | None = None) -> float:
    """Wall seconds of a whole `memtui run` in jsonl, its output thrown away."""
    cmd = run_command(path, duration_s, every_s, "jsonl", reference)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"memtui run failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return wall


def stepping_x(profile: Profile, sim_s: int, reference: bool) -> float:
    """Simulated seconds per wall second, in-process, from a freshly built host."""
    from memtui.batch import run_step

    host = Host.from_profile(profile)
    start = time.perf_counter()
    run_step(host, sim_s, reference)
    return sim_s / (time.perf_counter() - start)


def record_us(profile: Profile, warm_s: int, every_s: int, samples: int, fmt: str = "jsonl") -> tuple[float, float]:
    """Microseconds per VM record of writing a sample, (reference, fast): both writers write the
    same samples of one host to a null sink."""
    from memtui.batch import _FastWriter, _ReferenceWriter

    host = Host.from_profile(profile)
    host.run(warm_s)
    writers = {"reference": _ReferenceWriter(host, fmt, _Null()), "fast": _FastWriter(host, fmt, _Null())}
    spent = dict.fromkeys(writers, 0.0)
    for w in writers.values():
        w.write_header()
    for _ in range(samples):
        host.run(every_s)
        for name, w in writers.items():
            start = time.perf_counter()
            w.write_sample(host)
            spent[name] += time.perf_counter() - start
    records = samples * len(host.vms)
    return spent["reference"] / records * 1e6, spent["fast"] / records * 1e6


def machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except Exception:  # psutil is optional here
        mem = "?"
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load {os.getloadavg()[0]:.1f}"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}{load}")


# ---------------------------------------------------------------- the report

@dataclass
class Plan:
    """What one `memtui bench` measures."""

    sizes: tuple[int, ...] = SIZES
    step_s: dict[int, int] = field(default_factory=lambda: {8: 3600, 64: 3600, 320: 900, 1024: 600})
    startup: tuple[tuple[str, str], ...] = ()  # (label, profile path)
    startup_runs: tuple[int, ...] = (5, 3)  # runs per profile of `startup`, in order
    whole: tuple[tuple[str, str, int, int, bool], ...] = ()  # (label, profile, duration, every, judged)
    record: tuple[tuple[str, Profile, int, int, int], ...] = ()  # (label, profile, warm s, every s, samples)
    env: dict[str, str] | None = None  # of the timed subprocesses (subprocess_env)


def default_plan(quick: bool, workdir: str) -> Plan:
    from memtui.paths import bundled_profiles_dir
    from memtui.profile import dumps_profile

    bundled = bundled_profiles_dir()
    hour = os.path.join(workdir, "mixed64.toml")
    with open(hour, "w", encoding="utf-8") as f:
        f.write(dumps_profile(hour_profile(64)))
    big = str(bundled / "bench-1024.toml")
    plan = Plan(startup=(("default", str(bundled / "default.toml")), ("bench-1024", big)),
                whole=(("64-VM hour", hour, 3600, 60, True), ("1,024-VM hour", big, 3600, 10, True)),
                env=subprocess_env(workdir))
    from memtui.profile import load_profile

    big_profile = load_profile(big)
    plan.record = (("64 VMs, every 1m", hour_profile(64), 600, 60, 20),
                   ("1,024 VMs, every 10s", big_profile, 600, 10, 10))
    if quick:
        plan.step_s = {n: s // 4 for n, s in plan.step_s.items()}
        plan.startup_runs = (3, 1)
        plan.whole = (("64-VM hour", hour, 3600, 60, True), ("1,024-VM hour", big, 900, 10, False))
        plan.record = (("64 VMs, every 1m", hour_profile(64), 600, 60, 10),
                       ("1,024 VMs, every 10s", big_profile, 600, 10, 4))
    return plan


class _Table:
    def __init__(self, out):
        self.out = out
        self.ok = True

    def title(self, text: str) -> None:
        print(f"\n{text}", file=self.out)
        print(f"  {'':<30} {'reference':>11} {'fast':>11} {'gain':>6}  goal", file=self.out)

    def row(self, label: str, ref: float, fast: float, unit: str, goal: float | None = None,
            higher_is_better: bool = False, judged: bool = True) -> None:
        def fmt(v: float) -> str:
            if unit == "x":
                return f"{v:,.0f}x"
            if unit == "us":
                return f"{v:.2f} us"
            return f"{v:.3f} s"

        gain = (fast / ref if higher_is_better else ref / fast) if ref > 0 and fast > 0 else 0.0
        verdict = ""
        if goal is not None:
            sign = ">=" if higher_is_better else "<="
            if judged:
                good = fast >= goal if higher_is_better else fast <= goal
                self.ok &= good
                verdict = f"{sign} {fmt(goal)} {'met' if good else 'MISSED'}"
            else:
                verdict = f"(an hour: {sign} {fmt(goal)}; not judged)"
        print(f"  {label:<30} {fmt(ref):>11} {fmt(fast):>11} {gain:>5.1f}x  {verdict}", file=self.out)


def report(plan: Plan, out=None) -> bool:
    """Print the figures of `plan`; True when every goal judged is met."""
    out = out or sys.stdout
    print(f"machine: {machine()}", file=out)
    table = _Table(out)
    env = plan.env
    if env is not None and (plan.startup or plan.whole):
        print("bytecode: cached, as installed (warm-up runs first)", file=out)
        for path in {p for _, p in plan.startup} | {w[1] for w in plan.whole}:
            for reference in (True, False):
                first_sample_s(path, reference, env)
    if plan.startup:
        table.title("start-up: memtui run to its first sample (subprocess, median)")
        for (label, path), runs in zip(plan.startup, plan.startup_runs, strict=False):
            ref = statistics.median(first_sample_s(path, True, env) for _ in range(runs))
            fast = statistics.median(first_sample_s(path, False, env) for _ in range(runs))
            table.row(f"{label} ({runs} runs)", ref, fast, "s", FIRST_SAMPLE_GOALS_S.get(label))
    if plan.sizes:
        table.title("stepping: simulated s per wall s (in-process)")
        for n in plan.sizes:
            sim_s = plan.step_s.get(n, 600)
            profile = synthetic_profile(n)
            ref = stepping_x(profile, sim_s, True)
            fast = stepping_x(profile, sim_s, False)
            table.row(f"{n:,} VMs, {sim_s} s", ref, fast, "x", STEP_GOALS_X.get(n), higher_is_better=True)
    if plan.whole:
        table.title("whole runs: memtui run --format jsonl to a null sink (subprocess)")
        for label, path, duration_s, every_s, judged in plan.whole:
            ref = whole_run_s(path, duration_s, every_s, True, env)
            fast = whole_run_s(path, duration_s, every_s, False, env)
            shown = label if judged else f"{label[:label.index(' ')]} {duration_s // 60} min"
            table.row(f"{shown}, every {every_s} s", ref, fast, "s", WHOLE_RUN_GOALS_S.get(label),
                      judged=judged)
    if plan.record:
        table.title("writing: one VM record of a jsonl sample (in-process)")
        for label, profile, warm_s, every_s, samples in plan.record:
            ref, fast = record_us(profile, warm_s, every_s, samples)
            table.row(label, ref, fast, "us")
    print(f"\n{'every goal met' if table.ok else 'goals MISSED'}", file=out)
    return table.ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="memtui bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter runs (less precise)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="memtui-bench-") as workdir:
        try:
            ok = report(default_plan(args.quick, workdir))
        except RuntimeError as exc:
            print(f"memtui bench: {exc}", file=sys.stderr)
            return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
