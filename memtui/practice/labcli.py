"""`memtui lab list | show | start | check`: the labs on the command line.

`memtui lab start` opens the lab in the terminal UI through the entry the command line hands
in (`lab_main(argv, ui=...)`); this module itself never imports the UI.

The module imports no UI toolkit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from memtui.config import format_clock
from memtui.practice.actions import TimedAction, load_actions, play
from memtui.practice.labfile import Lab, LabError, describe_lab, list_labs, load_lab
from memtui.practice.objectives import FAILED, MET
from memtui.practice.progress import ProgressStore
from memtui.practice.session import ActionResult
from memtui.profile import ProfileError

# What `memtui lab start` calls for the terminal UI: it returns the UI's entry (taking the Lab
# and returning an exit status), or None where the UI cannot run.
UiEntry = Callable[[], Callable[[Lab], int] | None]


def _print_problems(exc: ProfileError) -> None:
    for p in exc.problems:
        print(str(p), file=sys.stderr)


def _load_for_cli(name: str, keep_document: bool = False) -> Lab | None:
    try:
        return load_lab(name, keep_document=keep_document)
    except LookupError as exc:
        print(f"memtui lab: {exc.args[0]}", file=sys.stderr)
    except LabError as exc:
        _print_problems(exc)
    except OSError as exc:
        print(f"memtui lab: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
    return None


def _cmd_list(args) -> int:
    store = ProgressStore()
    labs = list_labs()
    progress = store.all()
    width = max((len(lab.name) for lab in labs), default=4)
    for lab in labs:
        p = progress.get(lab.name)
        status = p.status if p else "new"
        print(f"{lab.name:<{width}}  {lab.level}  {status:<7}  {lab.title}")
    if store.problem:
        print(f"memtui lab: {store.problem}", file=sys.stderr)
    return 0


def _cmd_show(args) -> int:
    lab = _load_for_cli(args.name)
    if lab is None:
        return 2
    print("\n".join(describe_lab(lab)))
    return 0


def _cmd_start(args, ui: UiEntry | None) -> int:
    lab = _load_for_cli(args.name, keep_document=True)  # the terminal UI may save it
    if lab is None:
        return 2
    ProgressStore().record_start(lab)
    if not args.print and not (sys.stdin.isatty() and sys.stdout.isatty()):
        args.print = True  # no terminal for the UI: print the briefing
    if not args.print:
        entry = ui() if ui is not None else None
        if entry is not None:
            return int(entry(lab) or 0)
    print("\n".join(describe_lab(lab)))
    if not args.print:
        print(f"\n(the terminal UI cannot run labs here; try: memtui lab check {lab.name} --actions FILE)")
    return 0


def action_mark(res: ActionResult) -> str:
    """How `memtui lab check` marks an action: "ok", "WRONG" (an answer taken but not right),
    or "REFUSED" (nothing changed)."""
    if not res.ok:
        return "REFUSED"
    if res.correct is False:
        return "WRONG"
    return "ok"


def _cmd_check(args) -> int:
    lab = _load_for_cli(args.name)
    if lab is None:
        return 2
    actions: list[TimedAction] = []
    if args.actions:
        try:
            actions = load_actions(args.actions, lab)
        except LabError as exc:
            _print_problems(exc)
            return 2
        except OSError as exc:
            print(f"memtui lab: cannot read {args.actions}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    # With --json, standard output is the one JSON object; the action lines go to stderr.
    out = sys.stderr if args.json else sys.stdout
    played: list[dict[str, Any]] = []

    def said(a: TimedAction, res: ActionResult) -> None:
        mark = action_mark(res)
        played.append({"at_s": a.at_s, "result": mark, "kind": res.kind, "message": res.message})
        if not args.quiet:
            print(f"{format_clock(a.at_s)}  {mark}: {res.message}", file=out)

    session = play(lab, actions, said)
    result = session.result()
    if args.json:
        print(json.dumps({
            "lab": result.lab, "passed": result.passed, "changes": result.changes,
            "hints": result.hints_used, "elapsed_s": result.elapsed_s,
            "objectives": [{"id": i, "text": t, "status": s, "detail": d} for i, t, s, d in result.objectives],
            "actions": played,
        }))
    else:
        print(f"{lab.title} ({lab.name})")
        for oid, text, status, detail in result.objectives:
            word = {MET: "PASS", FAILED: "FAIL"}.get(status, status.upper())
            print(f"  {word}  {oid}: {text}")
            if detail:
                print(f"        {detail}")
        print(result.summary())
    return 0 if result.passed else 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memtui lab", description="Guided labs on a simulated ESX host.")
    sub = p.add_subparsers(dest="command", metavar="{list,show,start,check}")
    sub.add_parser("list", help="the bundled labs and your progress")
    s = sub.add_parser("show", help="a lab's briefing and objectives")
    s.add_argument("name", help="a bundled lab's name or a lab file")
    s = sub.add_parser("start", help="start a lab in the terminal UI")
    s.add_argument("name", help="a bundled lab's name or a lab file")
    s.add_argument("--print", action="store_true", help="print the briefing instead of opening the UI")
    s = sub.add_parser("check", help="play a file of timed actions against a lab and print the result")
    s.add_argument("name", help="a bundled lab's name or a lab file")
    s.add_argument("--actions", help="TOML file of [[action]] tables (none: the lab runs untouched)")
    s.add_argument("--quiet", action="store_true", help="do not print each action as it is applied")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return p


def lab_main(argv: list[str], ui: UiEntry | None = None) -> int:
    """`memtui lab ...`: 0 success (check: every objective met), 1 check failed, 2 bad input.
    `ui`: how `memtui lab start` finds the terminal UI (None: it prints the briefing)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    commands = {"list": _cmd_list, "show": _cmd_show, "start": lambda a: _cmd_start(a, ui),
                "check": _cmd_check}
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    return commands[args.command](args)
