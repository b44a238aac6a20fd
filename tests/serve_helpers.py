"""A vSphere endpoint on an ephemeral loopback port, in this process or as `memtui serve`."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memtui import paths
from memtui.profile import load_profile
from memtui.session import Session
from memtui.vsphere.cert import ensure_certificate
from memtui.vsphere.serve import Endpoint, start_server
from memtui.vsphere.state import LockedGate

USER = "root"
PASSWORD = "s3cret pass"


@contextmanager
def memtui_home(home: Path) -> Iterator[None]:
    """MEMTUI_HOME pointed at `home` for a module's in-process endpoint, restored after."""
    old = os.environ.get("MEMTUI_HOME")
    os.environ["MEMTUI_HOME"] = str(home)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MEMTUI_HOME", None)
        else:
            os.environ["MEMTUI_HOME"] = old


class InProcess:
    """The endpoint on a host whose clock stands still until a test steps it."""

    def __init__(self, profile: str | None = None, clock: bool = False, speed_x: float = 1.0):
        self.session = Session.from_profile(load_profile(profile or str(paths.default_profile_path())))
        self.gate = LockedGate(self.session, speed_x)
        cert, key, _ = ensure_certificate("127.0.0.1")
        self.server, self.api = start_server(
            Endpoint("127.0.0.1", 0, USER, PASSWORD, False, str(cert), str(key), False), self.gate)
        self.port = self.server.server_address[1]
        if clock:
            self.gate.start_clock()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def host(self):
        return self.session.host

    def step(self, seconds: int) -> None:
        """Advance the model, taking the 20 s performance samples as the clock would."""
        def go(session):
            for _ in range(seconds):
                session.step(1)
                self.gate.perf.observe(session.host)
        self.gate.run(go)

    def connect(self, user: str = USER, pwd: str = PASSWORD):
        from pyVim.connect import SmartConnect

        return SmartConnect(host="127.0.0.1", port=self.port, user=user, pwd=pwd,
                            disableSslCertValidation=True)

    def close(self) -> None:
        self.api.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.gate.stop_clock()


def memtui_command() -> list[str]:
    return [sys.executable, "-m", "memtui"]


def start_subprocess(args: list[str], env: dict, timeout_s: float = 30.0):
    """`memtui serve ARGS`; returns (process, port) once it says where it listens."""
    proc = subprocess.Popen(memtui_command() + ["serve", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout_s
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"vSphere API at https://127\.0\.0\.1:(\d+)/sdk", line)
        if m:
            return proc, int(m.group(1)), lines
    proc.kill()
    raise AssertionError("memtui serve did not start: " + "".join(lines) + proc.stderr.read())


def unverified_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def isolated_env(home: Path) -> dict:
    env = dict(os.environ)
    env["MEMTUI_HOME"] = str(home)
    env.pop("MEMTUI_API_PASSWORD", None)
    return env
