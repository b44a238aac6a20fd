"""Machine instructions per model step, counted by valgrind's callgrind: a figure that does not
move with the machine's load, for comparing two versions of the model.

    python benchmarks/bench_step_instructions.py [--vms 64] [--warm 600] [--seconds 300]
                                                 [--tree DIR ...]

For each tree (a checkout's top folder; default: the memtui this script imports) it runs a
synthetic host (memtui.bench.synthetic_profile, written once to a profile file every version
can read) under callgrind twice, stepping `--warm` seconds and then 0 or `--seconds` more, and
prints the difference divided by `--seconds`: the instructions of one fast-path step, start-up
and the warm-up left out. Needs valgrind; a run of 64 VMs takes about two minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import sys
from memtui.model import load_host
host = load_host(sys.argv[1])
host.run(int(sys.argv[2]))
host.run(int(sys.argv[3]))
"""


def instructions(tree: Path | None, profile: str, warm: int, seconds: int, workdir: str) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same string hashes, run after run
    if tree is not None:
        env["PYTHONPATH"] = str(tree.resolve())
    out = os.path.join(workdir, "callgrind.out")
    # Run in the empty work folder: `python -c` puts the working folder first on sys.path, so a
    # memtui checkout there would be measured instead of `tree`.
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
         _CHILD, profile, str(warm), str(seconds)],
        env=env, cwd=workdir, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({tree or 'this memtui'}):\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vms", type=int, default=64)
    p.add_argument("--warm", type=int, default=600, help="seconds stepped before counting")
    p.add_argument("--seconds", type=int, default=300, help="seconds counted")
    p.add_argument("--tree", action="append", type=Path, default=None,
                   help="a checkout to measure (repeatable); default: this memtui")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt install valgrind)", file=sys.stderr)
        return 2
    from memtui.bench import synthetic_profile
    from memtui.profile import save_profile

    with tempfile.TemporaryDirectory() as workdir:
        profile = os.path.join(workdir, f"synthetic-{args.vms}.toml")
        save_profile(synthetic_profile(args.vms), profile)
        print(f"synthetic host of {args.vms} VMs, {args.seconds} s counted after {args.warm} s")
        for tree in args.tree or [None]:
            base = instructions(tree, profile, args.warm, 0, workdir)
            total = instructions(tree, profile, args.warm, args.seconds, workdir)
            per_step = (total - base) / args.seconds
            print(f"  {str(tree or 'this memtui'):40s} {per_step:>12,.0f} instructions per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
