"""`memtui serve`: pyVmomi scripts, unchanged, against the simulated host agent."""

from __future__ import annotations

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

from tests.serve_helpers import PASSWORD, InProcess, memtui_home

PC = vmodl.query.PropertyCollector


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with memtui_home(tmp_path_factory.mktemp("home")):
        ep = InProcess()
        ep.step(150)  # past the boot storm: the desktops balloon
        yield ep
        ep.close()


@pytest.fixture(scope="module")
def si(endpoint):
    from pyVim.connect import Disconnect

    si = endpoint.connect()
    yield si
    try:
        Disconnect(si)
    except Exception:
        pass


def vms_by_name(si) -> dict:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return {vm.name: vm for vm in view.view}
    finally:
        view.DestroyView()


def test_login_tells_an_esx_host_agent(endpoint, si):
    content = si.RetrieveContent()
    assert content.about.apiType == "HostAgent"
    assert content.about.version == "4.0.0"
    session = content.sessionManager.currentSession
    assert session.userName == "root"
    assert content.rootFolder.childEntity[0].name == "ha-datacenter"


def test_wrong_password_is_invalid_login(endpoint):
    with pytest.raises(vim.fault.InvalidLogin):
        endpoint.connect(pwd=PASSWORD + "x")
    with pytest.raises(vim.fault.InvalidLogin):
        endpoint.connect(user="admin")


def test_container_view_lists_every_vm(endpoint, si):
    names = [vm.name for vm in endpoint.host.vms]
    assert sorted(vms_by_name(si)) == sorted(names)


def test_retrieve_properties_ex_pages_with_tokens(endpoint, si):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pc = content.propertyCollector
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[
            PC.TraversalSpec(name="traverseEntities", path="view", skip=False, type=vim.view.ContainerView)])],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "config.hardware.memoryMB"])])
    result = pc.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=3))
    pages = [result]
    while result.token:
        result = pc.ContinueRetrievePropertiesEx(result.token)
        pages.append(result)
    got = {}
    for page in pages:
        assert len(page.objects) <= 3
        for oc in page.objects:
            props = {p.name: p.val for p in oc.propSet}
            got[props["name"]] = props["config.hardware.memoryMB"]
    assert got == {vm.name: vm.memory_mb for vm in endpoint.host.vms}
    assert len(pages) == -(-len(got) // 3)
    with pytest.raises(vmodl.fault.InvalidArgument):
        pc.ContinueRetrievePropertiesEx(pages[0].token or "no-such-token")
    view.DestroyView()


def test_folder_traversal_as_govc_walks_it(endpoint, si):
    """Root folder -> datacenter -> vmFolder -> VMs, with named selection specs."""
    content = si.RetrieveContent()
    to_dc = PC.TraversalSpec(name="folderTraversal", type=vim.Folder, path="childEntity", skip=False,
                             selectSet=[PC.SelectionSpec(name="folderTraversal"),
                                        PC.SelectionSpec(name="dcToVm")])
    dc_vm = PC.TraversalSpec(name="dcToVm", type=vim.Datacenter, path="vmFolder", skip=False,
                             selectSet=[PC.SelectionSpec(name="folderTraversal")])
    spec = PC.FilterSpec(objectSet=[PC.ObjectSpec(obj=content.rootFolder, skip=False, selectSet=[to_dc, dc_vm])],
                         propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.powerState"]),
                                  PC.PropertySpec(type=vim.Folder, pathSet=["name"])])
    out = content.propertyCollector.RetrieveContents([spec])
    vm_states = [oc for oc in out if isinstance(oc.obj, vim.VirtualMachine)]
    folders = {oc.propSet[0].val for oc in out if isinstance(oc.obj, vim.Folder)}
    assert len(vm_states) == len(endpoint.host.vms)
    assert {"Datacenters", "vm"} <= folders
    with pytest.raises(vmodl.query.InvalidProperty):
        content.propertyCollector.RetrieveContents([PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=content.rootFolder)],
            propSet=[PC.PropertySpec(type=vim.Folder, pathSet=["noSuchProperty"])])])


def test_quick_stats_of_a_ballooning_vm_are_the_models(endpoint, si):
    snap = endpoint.host.snapshot()
    ballooning = [m for m in snap.vms if m.balloon_mb > 1]
    assert ballooning, "the default profile balloons its desktops after the boot storm"
    m = ballooning[0]
    vm = vms_by_name(si)[m.name]
    qs = vm.summary.quickStats
    assert qs.balloonedMemory == round(m.balloon_mb)
    assert qs.guestMemoryUsage == round(m.active_mb)
    assert qs.hostMemoryUsage == round(m.consumed_mb + m.overhead_mb)
    assert qs.consumedOverheadMemory == round(m.overhead_mb)
    assert qs.swappedMemory == round(m.swapped_mb)
    assert qs.sharedMemory == round(m.shared_mb)
    assert qs.privateMemory == round(m.private_mb)
    assert qs.compressedMemory == round(m.zipped_mb * 1024)  # KB, as the API has it
    assert vm.guest.toolsRunningStatus == "guestToolsRunning"
    assert vm.config.tools.toolsVersion > 0
    host = vm.runtime.host
    assert host.summary.hardware.memorySize == endpoint.host.config.memory_mb * 1024 * 1024
    assert host.summary.quickStats.overallMemoryUsage == round(snap.host.memory_mb - snap.host.free_mb)


def test_memory_allocation_reads_as_vsphere_writes_it(endpoint, si):
    vms = vms_by_name(si)
    db = vms["db01"].config.memoryAllocation
    cfg = next(v for v in endpoint.host.vms if v.name == "db01")
    assert db.reservation == cfg.reservation_mb
    assert db.limit == (-1 if cfg.limit_mb is None else cfg.limit_mb)
    assert db.shares.level == cfg.shares
    assert db.shares.shares == cfg.shares_value


def test_reconfigure_memory_cpus_and_allocation(endpoint, si):
    vms = vms_by_name(si)
    vm = vms["web02"]
    assert WaitForTask(vm.PowerOffVM_Task()) == "success"
    assert vm.runtime.powerState == "poweredOff"
    task = vm.ReconfigVM_Task(vim.vm.ConfigSpec(memoryMB=3072, numCPUs=2))
    assert WaitForTask(task) == "success"
    assert vm.config.hardware.memoryMB == 3072 and vm.config.hardware.numCPU == 2
    alloc = vim.ResourceAllocationInfo(reservation=512, limit=2048,
                                       shares=vim.SharesInfo(level="custom", shares=12345))
    assert WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(memoryAllocation=alloc))) == "success"
    cfg = next(v for v in endpoint.host.vms if v.name == "web02")
    assert (cfg.memory_mb, cfg.vcpus, cfg.reservation_mb, cfg.limit_mb, cfg.shares) == (3072, 2, 512, 2048, 12345)
    got = vm.config.memoryAllocation
    assert (got.reservation, got.limit, got.shares.level, got.shares.shares) == (512, 2048, "custom", 12345)
    unlimited = vim.ResourceAllocationInfo(limit=-1, shares=vim.SharesInfo(level="high", shares=0))
    assert WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(memoryAllocation=unlimited))) == "success"
    assert vm.config.memoryAllocation.limit == -1
    assert vm.config.memoryAllocation.shares.level == "high"
    assert WaitForTask(vm.PowerOnVM_Task()) == "success"
    assert vm.runtime.powerState == "poweredOn"
    log = [e.message for e in endpoint.host.log if e.kind == "api"]
    assert any("reconfigure web02: memory_mb = 3072, vcpus = 2" in m for m in log)


def test_bad_values_are_invalid_argument_and_change_nothing(endpoint, si):
    vm = vms_by_name(si)["web01"]
    before = next(v for v in endpoint.host.vms if v.name == "web01")
    bad = vim.ResourceAllocationInfo(reservation=1024, limit=512)  # limit below the reservation
    task = vm.ReconfigVM_Task(vim.vm.ConfigSpec(memoryAllocation=bad))
    with pytest.raises(vmodl.fault.InvalidArgument) as info:
        WaitForTask(task)
    assert "limit" in info.value.invalidProperty
    assert task.info.state == "error"
    with pytest.raises(vim.fault.InvalidPowerState):  # memory of a powered-on VM
        WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(memoryMB=4096)))
    with pytest.raises(vmodl.fault.NotSupported):
        WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(name="renamed")))
    after = next(v for v in endpoint.host.vms if v.name == "web01")
    assert after == before


def test_admission_refusal_names_the_shortfall(endpoint, si):
    vm = vms_by_name(si)["build01"]
    assert WaitForTask(vm.PowerOffVM_Task()) == "success"
    unreserved = endpoint.host.unreserved_mb
    big = int(unreserved) + 2048
    spec = vim.vm.ConfigSpec(memoryMB=big, memoryAllocation=vim.ResourceAllocationInfo(reservation=big))
    assert WaitForTask(vm.ReconfigVM_Task(spec)) == "success"  # settings of a powered-off VM
    task = vm.PowerOnVM_Task()
    with pytest.raises(vim.fault.InsufficientMemoryResourcesFault) as info:
        WaitForTask(task)
    fault = info.value
    assert isinstance(fault, vim.fault.InsufficientResourcesFault)
    assert "short by" in fault.msg
    assert fault.requested > fault.unreserved
    assert isinstance(task.info.error, vim.fault.InsufficientMemoryResourcesFault)
    assert vm.runtime.powerState == "poweredOff"
    assert endpoint.host.unreserved_mb == pytest.approx(unreserved)
    # raising a running VM's reservation past what is unreserved: refused the same way
    small = vim.vm.ConfigSpec(memoryMB=3072, memoryAllocation=vim.ResourceAllocationInfo(reservation=0))
    assert WaitForTask(vm.ReconfigVM_Task(small)) == "success"
    assert WaitForTask(vm.PowerOnVM_Task()) == "success"
    endpoint.gate.run(lambda s: s.set_vm("db01", reservation_mb=8192))  # eat most of what is free
    endpoint.gate.run(lambda s: s.set_vm("mail01", reservation_mb=3072))
    left = endpoint.host.unreserved_mb
    want = int(left) + 1 if left < 2048 else None
    if want is not None:
        before = next(v for v in endpoint.host.vms if v.name == "web01").reservation_mb
        with pytest.raises(vim.fault.InsufficientMemoryResourcesFault):
            WaitForTask(vms_by_name(si)["web01"].ReconfigVM_Task(vim.vm.ConfigSpec(
                memoryAllocation=vim.ResourceAllocationInfo(reservation=before + want))))
        assert next(v for v in endpoint.host.vms if v.name == "web01").reservation_mb == before


def test_power_on_a_running_vm_is_invalid_power_state(endpoint, si):
    vm = vms_by_name(si)["mail01"]
    with pytest.raises(vim.fault.InvalidPowerState):
        WaitForTask(vm.PowerOnVM_Task())


def test_advanced_options_query_update_and_ranges(endpoint, si):
    content = si.RetrieveContent()
    host = content.rootFolder.childEntity[0].hostFolder.childEntity[0].host[0]
    om = host.configManager.advancedOption
    mem = {o.key: o.value for o in om.QueryOptions("Mem.")}
    assert mem["Mem.IdleTax"] == 75 and mem["Mem.CtlMaxPercent"] == 65
    assert "Mem.MemZipEnable" not in mem  # ESX 4.0 has no compression cache
    defs = {d.key: d.optionType for d in om.supportedOption}
    assert (defs["Mem.IdleTax"].min, defs["Mem.IdleTax"].max) == (0, 99)
    om.UpdateOptions([vim.option.OptionValue(key="Mem.IdleTax", value=40)])
    assert om.QueryOptions("Mem.IdleTax")[0].value == 40
    assert endpoint.host.advanced["Mem.IdleTax"] == 40
    with pytest.raises(vmodl.fault.InvalidArgument) as info:
        om.UpdateOptions([vim.option.OptionValue(key="Mem.IdleTax", value=10),
                          vim.option.OptionValue(key="Mem.CtlMaxPercent", value=150)])
    assert info.value.invalidProperty == "Mem.CtlMaxPercent"
    assert endpoint.host.advanced["Mem.IdleTax"] == 40  # nothing of a refused call applies
    with pytest.raises(vmodl.fault.InvalidArgument):
        om.UpdateOptions([vim.option.OptionValue(key="Mem.IdleTax", value="50")])
    with pytest.raises(vim.fault.InvalidName):
        om.QueryOptions("Mem.NoSuchThing")
    om.UpdateOptions([vim.option.OptionValue(key="Mem.IdleTax", value=75)])


def test_perf_counters_come_from_the_models_history(endpoint, si):
    content = si.RetrieveContent()
    pm = content.perfManager
    counters = {f"{c.groupInfo.key}.{c.nameInfo.key}": c for c in pm.QueryPerfCounterByLevel(4)}
    for name in ("mem.consumed", "mem.active", "mem.granted", "mem.vmmemctl", "mem.vmmemctltarget",
                 "mem.swapped", "mem.swapinRate", "mem.swapoutRate", "mem.compressed", "mem.shared",
                 "mem.zero", "mem.overhead", "mem.state"):
        assert name in counters, name
    assert counters["mem.consumed"].unitInfo.key == "kiloBytes"
    vm = vms_by_name(si)["desk01"]
    available = {m.counterId for m in pm.QueryAvailablePerfMetric(entity=vm, intervalId=20)}
    assert counters["mem.vmmemctl"].key in available
    assert counters["mem.state"].key not in available  # a host counter
    endpoint.step(60)
    samples = list(endpoint.gate.perf.samples)
    assert len(samples) >= 3
    spec = vim.PerformanceManager.QuerySpec(
        entity=vm, intervalId=20, maxSample=3,
        metricId=[vim.PerformanceManager.MetricId(counterId=counters["mem.vmmemctl"].key, instance=""),
                  vim.PerformanceManager.MetricId(counterId=counters["mem.consumed"].key, instance="")])
    result = pm.QueryPerf([spec])[0]
    assert len(result.sampleInfo) == 3 and all(s.interval == 20 for s in result.sampleInfo)
    series = {s.id.counterId: list(s.value) for s in result.value}
    want = [round(snap.vm("desk01").balloon_mb * 1024) for snap in samples[-3:]]
    assert series[counters["mem.vmmemctl"].key] == want
    host_spec = vim.PerformanceManager.QuerySpec(
        entity=vm.runtime.host, intervalId=20, maxSample=1,
        metricId=[vim.PerformanceManager.MetricId(counterId=counters["mem.state"].key, instance="")])
    state = pm.QueryPerf([host_spec])[0].value[0].value[0]
    assert state == {"high": 0, "soft": 1, "hard": 2, "low": 3}[samples[-1].host.state]
    with pytest.raises(vmodl.fault.InvalidArgument):
        pm.QueryPerf([vim.PerformanceManager.QuerySpec(entity=vm, intervalId=300)])


def test_wait_for_updates_reports_enter_then_modify(endpoint, si):
    content = si.RetrieveContent()
    pc = content.propertyCollector.CreatePropertyCollector()  # WaitForTask uses the default one
    vm = vms_by_name(si)["desk02"]
    f = pc.CreateFilter(PC.FilterSpec(objectSet=[PC.ObjectSpec(obj=vm)],
                                      propSet=[PC.PropertySpec(type=vim.VirtualMachine,
                                                               pathSet=["config.memoryAllocation.reservation"])]),
                        True)
    first = pc.WaitForUpdatesEx("", PC.WaitOptions(maxWaitSeconds=0))
    update = first.filterSet[0].objectSet[0]
    assert update.kind == "enter" and update.changeSet[0].val == 0
    assert pc.WaitForUpdatesEx(first.version, PC.WaitOptions(maxWaitSeconds=0)) is None
    assert WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(
        memoryAllocation=vim.ResourceAllocationInfo(reservation=128)))) == "success"
    second = pc.WaitForUpdatesEx(first.version, PC.WaitOptions(maxWaitSeconds=5))
    change = second.filterSet[0].objectSet[0]
    assert change.kind == "modify" and change.changeSet[0].val == 128
    with pytest.raises(vmodl.query.InvalidCollectorVersion):
        pc.WaitForUpdatesEx("bogus", PC.WaitOptions(maxWaitSeconds=0))
    f.Destroy()
    pc.Destroy()


def test_unknown_object_is_managed_object_not_found(endpoint, si):
    stub = si._stub
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        _ = vim.VirtualMachine("999", stub).name
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        _ = vim.VirtualMachine("ha-host", stub).name  # an id of another type


def test_logout_ends_the_session(endpoint):
    si = endpoint.connect()
    content = si.RetrieveContent()
    content.sessionManager.Logout()
    with pytest.raises(vim.fault.NotAuthenticated):
        _ = content.rootFolder.childEntity


def test_search_index_finds_by_path_name_and_uuid(endpoint, si):
    content = si.RetrieveContent()
    index = content.searchIndex
    vm = index.FindByInventoryPath("ha-datacenter/vm/db01")
    assert isinstance(vm, vim.VirtualMachine) and vm.name == "db01"
    assert index.FindByInventoryPath("ha-datacenter/vm/nobody") is None
    dc = content.rootFolder.childEntity[0]
    assert index.FindChild(dc.vmFolder, "web01").name == "web01"
    assert index.FindByUuid(None, vm.config.uuid, True).name == "db01"
    assert index.FindByUuid(None, vm.config.instanceUuid, True, instanceUuid=True).name == "db01"


def test_the_endpoint_imports_no_ui_toolkit():
    import subprocess
    import sys

    code = ("import sys\n"
            "import memtui.vsphere.serve, memtui.vsphere.api, memtui.vsphere.server, memtui.vsphere.perf\n"
            "from memtui.cli import cmd_serve\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext'))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_every_property_of_every_object_serializes(endpoint, si):
    """all=True on every entity, and every property of the service objects, read back."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [], True)
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[
            PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)])]
        + [PC.ObjectSpec(obj=o) for o in (content.rootFolder, content.sessionManager, content.perfManager,
                                          content.taskManager, content.viewManager, view, content.propertyCollector,
                                          content.searchIndex, si, *content.taskManager.recentTask[-1:],
                                          content.rootFolder.childEntity[0].hostFolder.childEntity[0].host[0]
                                          .configManager.advancedOption)],
        propSet=[PC.PropertySpec(type=t, all=True) for t in (
            vim.ManagedEntity, vim.SessionManager, vim.PerformanceManager, vim.TaskManager, vim.view.ViewManager,
            vim.view.ContainerView, vmodl.query.PropertyCollector, vim.SearchIndex, vim.ServiceInstance, vim.Task,
            vim.option.OptionManager)])
    out = content.propertyCollector.RetrieveContents([spec])
    kinds = {type(oc.obj).__name__ for oc in out}
    assert {"vim.VirtualMachine", "vim.HostSystem", "vim.Datacenter", "vim.Folder", "vim.ComputeResource",
            "vim.ResourcePool", "vim.SessionManager", "vim.PerformanceManager", "vim.Task",
            "vim.option.OptionManager", "vim.view.ContainerView", "vim.ServiceInstance"} <= kinds
    assert all(not oc.missingSet for oc in out)
    vm = next(oc for oc in out if isinstance(oc.obj, vim.VirtualMachine))
    names = {p.name for p in vm.propSet}
    assert {"name", "config", "summary", "runtime", "guest", "parent", "resourcePool"} <= names
    view.DestroyView()


def test_a_vm_deleted_meanwhile_is_managed_object_not_found(endpoint, si):
    """A VM deleted (in the terminal UI) after a script found it."""
    content = si.RetrieveContent()
    vm = content.searchIndex.FindByInventoryPath("ha-datacenter/vm/desk03")
    endpoint.gate.run(lambda s: s.remove_vm("desk03"))
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        vm.PowerOffVM_Task()
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        _ = vm.summary
    assert content.searchIndex.FindByInventoryPath("ha-datacenter/vm/desk03") is None
