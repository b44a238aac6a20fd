"""`memtui --serve`: a script's change through the vSphere API shows in the UI at once, and
the event log says it came from the API."""

from __future__ import annotations

import asyncio

from memtui.ui.eventlog import EventLog

from .conftest import make_app, settle, small_profile

PASSWORD = "ui-secret"


def endpoint():
    from memtui.vsphere.cert import ensure_certificate
    from memtui.vsphere.serve import Endpoint

    cert, key, _ = ensure_certificate("127.0.0.1")
    return Endpoint("127.0.0.1", 0, "root", PASSWORD, False, str(cert), str(key), False)


def script(port: int) -> tuple[str, int]:
    """An ordinary pyVmomi script: log in, raise a VM's reservation, read it back."""
    from pyVim.connect import Disconnect, SmartConnect
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    si = SmartConnect(host="127.0.0.1", port=port, user="root", pwd=PASSWORD, disableSslCertValidation=True)
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    vm = next(v for v in view.view if v.name == "web01")
    spec = vim.vm.ConfigSpec(memoryAllocation=vim.ResourceAllocationInfo(reservation=1024))
    state = WaitForTask(vm.ReconfigVM_Task(spec))
    seen = vm.config.memoryAllocation.reservation
    Disconnect(si)
    return state, seen


async def test_api_change_shows_at_once_as_from_the_api():
    from memtui.ui.api import ApiLink

    link = ApiLink(endpoint())
    app = make_app(small_profile(), api_link=link)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        state, seen = await asyncio.to_thread(script, link.server.server_address[1])
        await settle(pilot)
        assert (state, seen) == ("success", 1024)
        host = app.session.host
        assert host.vms[host.index("web01")].reservation_mb == 1024
        assert app.session.dirty  # an unsaved change, like one made with the keyboard
        log = app.main.query_one(EventLog)
        lines = [f"{ev.kind} {ev.message}" for ev in log.events]
        assert any(t.startswith("api vSphere API at https://127.0.0.1:") for t in lines)
        assert "api API (root): reconfigure web01: reservation_mb = 1024" in lines
        assert any("web01: reservation_mb 0 -> 1024" in t for t in lines)


def refused_script(port: int) -> str:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    si = SmartConnect(host="127.0.0.1", port=port, user="root", pwd=PASSWORD, disableSslCertValidation=True)
    content = si.RetrieveContent()
    vm = content.searchIndex.FindByInventoryPath("ha-datacenter/vm/web01")
    try:
        WaitForTask(vm.PowerOffVM_Task())
    except vim.fault.NoPermission as fault:
        return fault.msg
    finally:
        Disconnect(si)
    return "not refused"


async def test_readonly_ui_refuses_api_changes():
    from memtui.ui.api import ApiLink

    link = ApiLink(endpoint())
    app = make_app(small_profile(), api_link=link, readonly=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        message = await asyncio.to_thread(refused_script, link.server.server_address[1])
        await settle(pilot)
        assert "read-only" in message
        host = app.session.host
        assert host.on[host.index("web01")]
