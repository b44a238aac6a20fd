"""`memtui --serve`: the vSphere API endpoint on the host the terminal UI shows.

The endpoint's threads reach the model only through the UI's own thread (`call_from_thread`),
so a script's change lands between two clock ticks, shows on the screen at once, and its
event-log lines say it came from the API.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from memtui.vsphere.state import Gate

if TYPE_CHECKING:
    from memtui.ui.app import MemtuiApp
    from memtui.vsphere.serve import Endpoint

PERF_OBSERVE_S = 0.25  # how often the UI thread takes the 20 s performance samples


class ApiClosing(Exception):
    pass


class UiGate(Gate):
    def __init__(self) -> None:
        super().__init__()
        self.app: MemtuiApp | None = None

    def run(self, fn):
        app = self.app
        if app is None or app.session is None:
            from pyVmomi import vmodl

            raise vmodl.fault.SystemError(msg="memtui is still loading the host", reason="loading")
        if threading.get_ident() == app._thread_id:
            return fn(app.session)
        try:
            return app.call_from_thread(lambda: fn(app.session))
        except RuntimeError:
            from pyVmomi import vmodl

            raise vmodl.fault.SystemError(msg="memtui is closing", reason="closing") from None

    def changed(self) -> None:
        if self.app is not None:
            self.app.refresh_view()


class ApiLink:
    """The endpoint of one UI run: bound before the UI starts (so a port in use is a clear
    error on the command line), serving once the host is loaded."""

    def __init__(self, endpoint: Endpoint, verbose: bool = False):
        from memtui.vsphere.serve import start_server

        self.endpoint = endpoint
        self.gate = UiGate()
        self.server, self.api = start_server(endpoint, self.gate, verbose=verbose)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        from memtui.vsphere.serve import url

        return url(self.server)

    def start(self, app: MemtuiApp) -> None:
        """Serve (once the session exists); idempotent."""
        if self._thread is not None:
            return
        self.gate.app = app
        app.set_interval(PERF_OBSERVE_S, self._observe)
        self._observe()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="memtui-api", daemon=True)
        self._thread.start()
        from memtui.metrics import LogEvent

        session = app.session
        secret = f", password {self.endpoint.password}" if self.endpoint.password_generated else ""
        session.host.log.append(LogEvent(session.host.t, "api",
                                         f"vSphere API at {self.url} (user {self.endpoint.user}{secret})"))
        app.refresh_view()

    def _observe(self) -> None:
        app = self.gate.app
        if app is not None and app.session is not None:
            self.gate.perf.observe(app.session.host)

    def stop(self) -> None:
        self.api.stopping.set()
        if self._thread is not None:
            self.server.shutdown()
        self.server.server_close()
