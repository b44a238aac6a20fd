"""How fast `memtui import esxtop` reads a large capture, and how much memory it needs.

    python benchmarks/bench_import.py [--mb SIZE] [--vms N] [--keep DIR]

Writes a capture of about SIZE MB (default 100) in a temporary folder, laid out as a full
`esxtop -b -a` capture of a busy host: the host's memory counters, then for each of N VMs
(default 80) its Group Cpu, Group Memory, Virtual Disk and Network Port counters, plus 64
physical CPUs and 300 disk devices with their own counters: thousands of columns, of which the
importer keeps a few hundred. Then it runs `memtui import esxtop` on it in a fresh process and
prints the wall and CPU time, the read rate, and the process's peak resident memory (ru_maxrss),
beside the peak of a process that only starts Python and imports the importer, so the difference
is what reading the capture costs. The temporary folder is removed at the end (--keep DIR keeps
the capture and profile there instead).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memtui.esxtop import HOST_COUNTERS, VM_COUNTERS  # noqa: E402

CPU_COUNTERS = ["% Used", "% Run", "% System", "% Wait", "% VmWait", "% Ready", "% Idle",
                "% Overlap", "% CoStop", "% Max Limited", "% Swap Wait", "Members"]
VDISK_COUNTERS = ["Commands/sec", "Reads/sec", "Writes/sec", "MBytes Read/sec",
                  "MBytes Written/sec", "Average MilliSec/Read", "Average MilliSec/Write"]
NET_COUNTERS = ["Packets Transmitted/sec", "MBits Transmitted/sec", "Packets Received/sec",
                "MBits Received/sec", "% Outbound Packets Dropped", "% Received Packets Dropped"]
PCPU_COUNTERS = ["% Processor Time", "% Util Time", "% Core Util Time"]
DEVICE_COUNTERS = ["Adapter Q Depth", "Device Max Queue Depth", "Active Commands",
                   "Commands/sec", "Reads/sec", "Writes/sec", "MBytes Read/sec",
                   "MBytes Written/sec", "Average Driver MilliSec/Command",
                   "Average Kernel MilliSec/Command", "Average Guest MilliSec/Command",
                   "Failed Commands/sec", "Aborts/sec", "Resets/sec"]


def header(host: str, vms: int) -> tuple[list[str], list[str]]:
    """The header cells, and for each column the kind of value it holds."""
    cells = ["(PDH-CSV 4.0) (UTC)(0)"]
    kinds = ["time"]
    for counter, _ in HOST_COUNTERS:
        cells.append(f"\\\\{host}\\Memory\\{counter}")
        kinds.append("host:" + counter)
    for c in range(64):
        for counter in PCPU_COUNTERS:
            cells.append(f"\\\\{host}\\Physical Cpu({c})\\{counter}")
            kinds.append("pct")
    for i in range(vms):
        gid, name = 20000 + i * 7, f"vm-{i:03d} (prod): app"
        for counter in CPU_COUNTERS:
            cells.append(f"\\\\{host}\\Group Cpu({gid}:{name})\\{counter}")
            kinds.append("pct")
        for counter, _ in VM_COUNTERS:
            cells.append(f"\\\\{host}\\Group Memory({gid}:{name})\\{counter}")
            kinds.append("vm:" + counter)
        for disk in ("", ":scsi0:0", ":scsi0:1"):
            for counter in VDISK_COUNTERS:
                cells.append(f"\\\\{host}\\Virtual Disk({name}{disk})\\{counter}")
                kinds.append("rate")
        for counter in NET_COUNTERS:
            cells.append(f"\\\\{host}\\Network Port(vSwitch0:{50331650 + i}:{gid}:{name})"
                         f"\\{counter}")
            kinds.append("rate")
    for d in range(300):
        for counter in DEVICE_COUNTERS:
            cells.append(f"\\\\{host}\\Physical Disk SCSI Device(naa.{d:032x})\\{counter}")
            kinds.append("rate")
    return cells, kinds


VM_VALUES = {
    "Memory Size MBytes": 8192, "Alloc Min": 0, "Alloc Max": -1,
    "Alloc Shares": 81920, "Memory Granted Size MBytes": 7900, "Touched MBytes": 1800,
    "Memctl Max MBytes": 5324.8, "Overhead MBytes": 210.5, "Shared MBytes": 900,
    "Zero MBytes": 400,
}


def write_capture(path: Path, size_mb: float, vms: int) -> tuple[int, int]:
    cells, kinds = header("esx-bench", vms)
    rng = random.Random(1)
    start = datetime(2026, 3, 1, 8, 0, 0)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(f'"{c}"' for c in cells) + "\n")
        rows = 0
        while f.tell() < size_mb * 2**20:
            when = (start + timedelta(seconds=5 * rows)).strftime("%m/%d/%Y %H:%M:%S")
            out = [when]
            for kind in kinds[1:]:
                if kind.startswith("vm:"):
                    counter = kind[3:]
                    if counter == "% Active Estimate":
                        out.append(f"{20 + 10 * ((rows // 120) % 3) + rng.random():.2f}")
                    else:
                        out.append(f"{VM_VALUES.get(counter, 0)}")
                elif kind.startswith("host:"):
                    out.append("262144" if kind == "host:Machine MBytes" else "1000")
                else:
                    out.append(f"{rng.random() * 100:.2f}")
            f.write(",".join(f'"{c}"' for c in out) + "\n")
            rows += 1
    return len(cells), rows


def peak_rss_mb(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MB of a fresh process running `args`."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:])\n"
        "wall = time.perf_counter() - t\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(r.returncode, wall, u.ru_utime + u.ru_stime, u.ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            check=True)
    rc, wall, cpu, peak_kb = result.stdout.split()[-4:]
    if rc != "0":
        raise SystemExit(f"the import failed ({rc}):\n{result.stdout}{result.stderr}")
    return float(wall), float(cpu), int(peak_kb) / 1024


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=float, default=100.0, help="capture size in MB (default 100)")
    p.add_argument("--vms", type=int, default=80, help="VMs in the capture (default 80)")
    p.add_argument("--keep", help="keep the capture and profile in this folder")
    args = p.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="memtui-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        capture = folder / "capture.csv"
        profile = folder / "imported.toml"
        t = time.perf_counter()
        columns, rows = write_capture(capture, args.mb, args.vms)
        made = time.perf_counter() - t
        size = capture.stat().st_size / 2**20
        print(f"capture: {size:.1f} MB, {columns} columns, {rows} samples, {args.vms} VMs "
              f"(written in {made:.1f} s)")
        _, _, base = peak_rss_mb([sys.executable, "-c", "import memtui.esxtop.importer"])
        cmd = [sys.executable, "-m", "memtui", "import", "esxtop", str(capture), "--out",
               str(profile), "--force"]
        wall, cpu, peak = peak_rss_mb(cmd)
        print(f"import:  {wall:.2f} s wall ({cpu:.2f} s CPU), {size / wall:.1f} MB/s; peak RSS "
              f"{peak:.1f} MB (Python with the importer loaded: {base:.1f} MB)")
        print(f"load:    {os.getloadavg()[0]:.2f} (1-minute load average: other work slows the "
              "wall time)")
        print(f"machine: {machine()}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
