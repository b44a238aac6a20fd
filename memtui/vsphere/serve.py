"""`memtui serve`: the simulated host as a vSphere API endpoint (an ESX host agent), and the
options it shares with `memtui --serve`."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import signal
import sys
import threading
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8443
DEFAULT_USER = "root"
PASSWORD_ENV = "MEMTUI_API_PASSWORD"
MAX_SPEED_X = 10000.0


class ServeError(Exception):
    """A problem with the serve options or the machine, said in a user's words."""


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= MAX_SPEED_X:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_SPEED_X:g}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535 (0: any free port)")
    return value


def add_endpoint_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """The endpoint's options (shared by `memtui serve` and `memtui --serve`)."""
    p.add_argument(f"--{prefix}host", dest="api_host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    p.add_argument(f"--{prefix}port", dest="api_port", type=_port, default=DEFAULT_PORT,
                   help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--user", dest="api_user", default=DEFAULT_USER, help=f"user name to log in with (default {DEFAULT_USER})")
    p.add_argument("--password-file", dest="password_file",
                   help=f"file holding the password (else ${PASSWORD_ENV}, else a random one shown once)")
    p.add_argument("--cert", help="TLS certificate (PEM); default: a self-signed one kept in memtui's data folder")
    p.add_argument("--key", help="private key of --cert (PEM)")


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memtui serve",
        description="Serve the simulated host as a vSphere API endpoint (ESX host agent, SOAP at /sdk "
                    "over HTTPS) for pyVmomi, govc or PowerCLI.")
    p.add_argument("profile", nargs="?", help="host profile (TOML); default: the bundled default profile")
    add_endpoint_options(p)
    p.add_argument("--speed", type=_speed, default=1.0,
                   help="simulated seconds per real second (default 1)")
    p.add_argument("--save", action="store_true",
                   help="on exit, write the host's settings back to the profile (atomically)")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    return p


@dataclass
class Endpoint:
    host: str
    port: int
    user: str
    password: str
    password_generated: bool
    cert: str
    key: str
    cert_made: bool


def read_password(path: str | None) -> tuple[str, bool]:
    """(password, generated)."""
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ServeError(f"cannot read the password file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ServeError(f"the password file {path} is not UTF-8 text") from None
        password = text.splitlines()[0] if text.splitlines() else ""
        if not password:
            raise ServeError(f"the password file {path} is empty: its first line is the password")
        return password, False
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env, False
    return secrets.token_urlsafe(12), True


def endpoint_from_args(args) -> Endpoint:
    """Check the endpoint options; raises ServeError."""
    if not args.api_user.strip():
        raise ServeError("--user cannot be empty")
    password, generated = read_password(args.password_file)
    if bool(args.cert) != bool(args.key):
        raise ServeError("--cert and --key go together: give both or neither")
    made = False
    if args.cert:
        cert, key = args.cert, args.key
    else:
        from memtui.vsphere.cert import ensure_certificate

        try:
            cert_path, key_path, made = ensure_certificate(args.api_host)
        except OSError as exc:
            raise ServeError(f"cannot keep the TLS certificate in memtui's data folder: {exc.strerror or exc}") from None
        cert, key = str(cert_path), str(key_path)
    return Endpoint(args.api_host, args.api_port, args.api_user, password, generated, cert, key, made)


def start_server(endpoint: Endpoint, gate, verbose: bool = False):
    """(server, api) listening, not yet serving; raises ServeError."""
    import ssl

    from memtui.vsphere.api import Api
    from memtui.vsphere.server import ApiServer, tls_context

    for path in (endpoint.cert, endpoint.key):
        if not os.path.isfile(path):
            raise ServeError(f"cannot read {path}: no such file")
        if not os.access(path, os.R_OK):
            raise ServeError(f"cannot read {path}: permission denied")
    try:
        ctx = tls_context(endpoint.cert, endpoint.key)
    except (ssl.SSLError, OSError) as exc:
        raise ServeError(f"cannot use the certificate {endpoint.cert} with the key {endpoint.key}: "
                         f"{getattr(exc, 'reason', None) or exc}") from None
    api = Api(gate, endpoint.user, endpoint.password, endpoint.port)
    try:
        server = ApiServer((endpoint.host, endpoint.port), api, ctx, verbose=verbose)
    except OSError as exc:
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {endpoint.port} on {endpoint.host} is in use: choose another with --port") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ServeError(f"not allowed to listen on port {endpoint.port} (ports below 1024 need privileges): "
                             f"choose another with --port") from None
        raise ServeError(f"cannot listen on {endpoint.host} port {endpoint.port}: {exc.strerror or exc}") from None
    return server, api


def url(server) -> str:
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}/sdk"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _err(msg: str) -> None:
    print(f"memtui serve: {msg}", file=sys.stderr)


def serve_main(argv: list[str]) -> int:
    args = serve_parser().parse_args(argv)
    from memtui import paths
    from memtui.profile import ProfileError, load_profile

    profile_path = args.profile or str(paths.default_profile_path())
    try:
        profile = load_profile(profile_path)
    except ProfileError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 2
    except OSError as exc:
        _err(f"cannot read {profile_path}: {exc.strerror or exc}")
        return 2
    from memtui.session import Session

    session = Session.from_profile(profile)
    if args.save and session.is_bundled():
        _err(f"--save would overwrite {profile_path}, one of memtui's bundled profiles: copy it to a file of "
             f"your own and serve that")
        return 2
    try:
        endpoint = endpoint_from_args(args)
    except ServeError as exc:
        _err(str(exc))
        return 2
    from memtui.vsphere.state import LockedGate

    gate = LockedGate(session, args.speed)
    try:
        server, api = start_server(endpoint, gate, verbose=args.verbose)
    except ServeError as exc:
        _err(str(exc))
        return 2

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_signal)
    gate.start_clock()
    host = session.host
    if endpoint.cert_made:
        _err(f"made a self-signed certificate: {endpoint.cert}")
    if not is_loopback(endpoint.host):
        _err(f"listening on {endpoint.host}: other machines can reach this endpoint")
    _err(f"vSphere API at {url(server)} (user {endpoint.user}; host {host.config.name}, "
         f"{len(host.vms)} VMs, {args.speed:g}x real time); Ctrl+C stops")
    if endpoint.password_generated:
        _err(f"password (generated, shown once): {endpoint.password}")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        api.stopping.set()
        server.server_close()
        gate.stop_clock()
    status = 0
    if args.save:
        from memtui.profile import ProfileSaveError

        try:
            with gate.lock:
                target = session.save()
            _err(f"saved the host's settings to {target}")
        except (OSError, ValueError, ProfileSaveError) as exc:
            _err(f"could not save {profile_path}: {exc}")
            status = 1
    _err("stopped")
    return status
