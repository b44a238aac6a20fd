"""The `memtui` command.

    memtui [PROFILE] [--readonly] [--theme NAME] [--restricted] [--serve ...]   the terminal UI
    memtui run PROFILE --for DURATION [--every INTERVAL] [--format csv|jsonl|esxtop] [--out FILE]
    memtui check PROFILE
    memtui import esxtop CAPTURE --out PROFILE [--at TIME] [--force]
    memtui lab list | start NAME | check NAME --actions FILE
    memtui bench [--quick]
    memtui serve [PROFILE] [--host H] [--port N] [--user NAME] [--speed N] [--password-file FILE] [--save]
    memtui paper [NAME ...] [--list]

Subcommands other than the UI import no UI toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys

from memtui import __version__

SUBCOMMANDS = ("run", "check", "lab", "bench", "import", "serve", "paper")


def _duration(text: str) -> int:
    from memtui.config import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _positive_duration(text: str) -> int:
    value = _duration(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value


def _ui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memtui",
        description="Administer a simulated VMware ESX host's memory in the terminal.",
        epilog="Other commands: memtui run | check | import | lab | bench | serve | paper "
               "(memtui COMMAND --help).",
    )
    p.add_argument("profile", nargs="?",
                   help="host profile (TOML); default: the bundled default profile; with "
                        "--restricted, a profile name from your own or the bundled profiles")
    p.add_argument("--readonly", action="store_true", help="nothing can be changed or saved")
    p.add_argument("--theme", help="colour theme, e.g. ansi-dark for 16-colour terminals")
    p.add_argument("--restricted", action="store_true",
                   help="for a training host's sshd ForceCommand: files only in the user's own profile directory")
    api = p.add_argument_group("vSphere API (memtui --serve; see memtui serve --help)")
    api.add_argument("--serve", action="store_true",
                     help="also serve the host as a vSphere API endpoint: scripts' changes show at once")
    from memtui.vsphere.serve import add_endpoint_options

    add_endpoint_options(api)
    p.add_argument("--version", action="version", version=f"memtui {__version__}")
    return p


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memtui run", description="Run a profile without the UI and write samples, like esxtop -b.")
    p.add_argument("profile", help="host profile (TOML)")
    p.add_argument("--for", dest="duration", required=True, type=_positive_duration,
                   help='simulated time to run: seconds or e.g. "30m", "1h30m"')
    p.add_argument("--every", dest="every", default=10, type=_positive_duration,
                   help="simulated time between samples (default 10s)")
    p.add_argument("--format", choices=("csv", "jsonl", "esxtop"), default="csv",
                   help="output format (default csv); esxtop: the PDH-CSV file of esxtop -b")
    p.add_argument("--out", help="write to this file (atomically) instead of standard output")
    return p


def _err(msg: str) -> None:
    print(f"memtui: {msg}", file=sys.stderr)


def _load(path: str):
    """The profile at `path`, or None after printing why it cannot be used."""
    from memtui.profile import ProfileError, load_profile

    try:
        return load_profile(path, keep_document=False)  # a batch run never saves it
    except ProfileError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return None
    except OSError as exc:
        _err(f"cannot read {path}: {exc.strerror or exc}")
        return None


def cmd_run(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    profile = _load(args.profile)
    if profile is None:
        return 2
    from memtui.batch import open_output, run_batch
    from memtui.model import Host

    host = Host.from_profile(profile)
    try:
        out, tmp = open_output(args.out)
    except OSError as exc:
        _err(f"cannot write {args.out}: {exc.strerror or exc}")
        return 2
    try:
        run_batch(host, args.duration, args.every, args.format, out, progress=sys.stderr)
        if tmp:
            out.flush()
            os.fsync(out.fileno())
            out.close()
            os.replace(tmp, args.out)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        _err(f"cannot write {args.out or 'the output'}: {exc.strerror or exc}")
        if tmp:
            out.close()
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return 1
    return 0


def cmd_check(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="memtui check", description="Check a host profile and summarise it.")
    p.add_argument("profile")
    args = p.parse_args(argv)
    from memtui.check import check_main

    return check_main(args.profile)


def _import_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memtui import", description="Build a host profile from another tool's file.")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    esx = kinds.add_parser("esxtop", prog="memtui import esxtop",
                           help="an esxtop batch capture (esxtop -b > capture.csv)",
                           description="Build a host profile from an esxtop batch capture: the host's "
                                       "memory, each VM's size, reservation, limit, shares and workload.")
    esx.add_argument("capture", help="the capture (CSV written by esxtop -b)")
    esx.add_argument("--out", required=True, help="the profile to write (TOML)")
    esx.add_argument("--at", help='the sample for sizes and settings: a time into the capture ("30m") '
                                  'or a sample time ("03/01/2026 08:30:00"); default the first sample')
    esx.add_argument("--force", action="store_true", help="replace --out if it exists")
    return p


def cmd_import(argv: list[str]) -> int:
    args = _import_parser().parse_args(argv)
    from memtui.esxtop.importer import import_main

    return import_main(args.capture, args.out, at=args.at, force=args.force)


def _lab_ui():
    """The terminal UI's entry for a lab (`memtui lab start`), or None where it cannot be
    imported."""
    try:
        from memtui.ui.app import run_lab
    except ImportError:
        return None
    return run_lab


def cmd_lab(argv: list[str]) -> int:
    from memtui.practice.labcli import lab_main

    return lab_main(argv, ui=_lab_ui)


def cmd_bench(argv: list[str]) -> int:
    from memtui.bench import main as bench_main

    return bench_main(argv)


def cmd_serve(argv: list[str]) -> int:
    from memtui.vsphere.serve import serve_main

    return serve_main(argv)


def cmd_paper(argv: list[str]) -> int:
    from memtui.paper import main as paper_main

    return paper_main(argv)


def cmd_ui(argv: list[str]) -> int:
    args = _ui_parser().parse_args(argv)
    profile = args.profile
    if not args.serve:
        given = [opt for opt, dest in (("--host", "api_host"), ("--port", "api_port"), ("--user", "api_user"),
                                       ("--password-file", "password_file"), ("--cert", "cert"), ("--key", "key"))
                 if getattr(args, dest) != _ui_parser().get_default(dest)]
        if given:
            _err(f"{', '.join(given)}: only with --serve")
            return 2
    if args.restricted and args.serve:
        _err("--serve is not available with --restricted (a restricted session opens no network port)")
        return 2
    if args.restricted:
        from memtui.restricted import RestrictedError, RestrictedPolicy

        policy = RestrictedPolicy.for_user()
        try:
            policy.ensure_home()
            if profile is not None:
                profile = str(policy.readable_path(profile))
        except RestrictedError as exc:
            _err(str(exc))
            return 2
        except OSError as exc:
            _err(f"cannot use your profile directory {policy.home}: {exc.strerror or exc}")
            return 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _err("the terminal UI needs a terminal (without one, use: memtui run PROFILE --for DURATION)")
        return 2
    api_link = None
    if args.serve:
        from memtui.vsphere.serve import ServeError, endpoint_from_args

        try:
            from memtui.ui.api import ApiLink

            api_link = ApiLink(endpoint_from_args(args))
        except ServeError as exc:
            _err(str(exc))
            return 2
    from memtui.ui.app import run

    return run(profile, readonly=args.readonly, theme=args.theme, restricted=args.restricted, api_link=api_link)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"run": cmd_run, "check": cmd_check, "lab": cmd_lab, "bench": cmd_bench,
                "import": cmd_import, "serve": cmd_serve, "paper": cmd_paper}
    try:
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
        return cmd_ui(argv)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
