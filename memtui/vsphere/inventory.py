"""The managed objects of the simulated ESX host agent and their properties.

Property values are built from a `View` of the live model each time they are read, as
pyVmomi data objects of the types the vSphere API declares. Units are the API's: the quick
stats in MB (compressedMemory in KB), hardware.memorySize in bytes.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

from pyVmomi import VmomiSupport, vim

if TYPE_CHECKING:
    from memtui.vsphere.api import Call

_UUID_NS = uuid.UUID("7b1e4c2e-6a43-4f51-9d0c-6d656d747569")

ESX_RELEASE = {"4.0": "4.0.0", "4.1": "4.1.0", "5.x": "5.5.0", "6.x": "6.7.0"}
ESX_BUILD = {"4.0": "164009", "4.1": "260247", "5.x": "1331820", "6.x": "8169922"}
VM_HW_VERSION = {"4.0": "vmx-07", "4.1": "vmx-07", "5.x": "vmx-10", "6.x": "vmx-14"}
TOOLS_VERSION = 10346


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_UUID_NS, "/".join(parts)))


def mb(x: float) -> int:
    return int(round(x))


_MISSING = object()


class MO:
    """A managed object: its pyVmomi type, its id, and the properties it serves.

    A property `name` is served by a method `p_name(call)`; a method of the API by
    `do_<wsdl name>(call, **arguments)`.
    """

    vim_type: type = VmomiSupport.ManagedObject

    def __init__(self, moid: str):
        self.moid = moid

    def ref(self):
        return self.vim_type(self.moid)

    # properties that depend on the model only: built once per model instant, shared by
    # every request that reads them then
    shared_properties: frozenset[str] = frozenset()

    @classmethod
    def property_names(cls) -> list[str]:
        return sorted(n[2:] for n in dir(cls) if n.startswith("p_") and "__" not in n)

    def get(self, name: str, call: Call) -> Any:
        fn = getattr(self, "p_" + name, None)
        if fn is None:
            raise KeyError(name)
        if name not in self.shared_properties:
            return fn(call)
        memo = call.view.memo
        key = (self.moid, name)
        value = memo.get(key, _MISSING)
        if value is _MISSING:
            value = memo[key] = fn(call)
        return value


class Entity(MO):
    """What every vim.ManagedEntity has."""

    vim_type = vim.ManagedEntity

    def p_overallStatus(self, call):
        return "green"

    def p_configStatus(self, call):
        return "green"

    def p_alarmActionsEnabled(self, call):
        return True

    def p_declaredAlarmState(self, call):
        return []

    def p_triggeredAlarmState(self, call):
        return []

    def p_disabledMethod(self, call):
        return []

    def p_effectiveRole(self, call):
        return [-1]  # the administrator role

    def p_permission(self, call):
        return []

    def p_recentTask(self, call):
        return call.api.tasks.recent(self.moid)

    def p_customValue(self, call):
        return []

    def p_availableField(self, call):
        return []

    def p_value(self, call):
        return []

    def p_tag(self, call):
        return []


# ------------------------------------------------------------------------------------------
# containers


class Folder(Entity):
    vim_type = vim.Folder

    def __init__(self, moid, name, parent, child_type, children):
        super().__init__(moid)
        self.name = name
        self.parent = parent
        self.child_type = child_type
        self.children = children  # callable(call) -> list of MO

    def p_name(self, call):
        return self.name

    def p_parent(self, call):
        return self.parent.ref() if self.parent else None

    def p_childType(self, call):
        return self.child_type

    def p_childEntity(self, call):
        return [c.ref() for c in self.children(call)]

    def contents(self, call):
        return self.children(call)


class Datacenter(Entity):
    vim_type = vim.Datacenter

    def __init__(self, inv):
        super().__init__("ha-datacenter")
        self.inv = inv

    def p_name(self, call):
        return "ha-datacenter"

    def p_parent(self, call):
        return self.inv.root_folder.ref()

    def p_vmFolder(self, call):
        return self.inv.vm_folder.ref()

    def p_hostFolder(self, call):
        return self.inv.host_folder.ref()

    def p_datastoreFolder(self, call):
        return self.inv.datastore_folder.ref()

    def p_networkFolder(self, call):
        return self.inv.network_folder.ref()

    def p_datastore(self, call):
        return []

    def p_network(self, call):
        return []

    def contents(self, call):
        inv = self.inv
        return [inv.vm_folder, inv.host_folder, inv.datastore_folder, inv.network_folder]


class ComputeResource(Entity):
    vim_type = vim.ComputeResource

    def __init__(self, inv):
        super().__init__("ha-compute-res")
        self.inv = inv

    def p_name(self, call):
        return call.view.config.name

    def p_parent(self, call):
        return self.inv.host_folder.ref()

    def p_host(self, call):
        return [self.inv.host.ref()]

    def p_resourcePool(self, call):
        return self.inv.pool.ref()

    def p_datastore(self, call):
        return []

    def p_network(self, call):
        return []

    def p_summary(self, call):
        v = call.view
        c = v.config
        return vim.ComputeResource.Summary(
            totalCpu=c.cpu_mhz * c.cpu_cores, totalMemory=c.memory_mb * 1024 * 1024,
            numCpuCores=c.cpu_cores, numCpuThreads=c.cpu_cores, effectiveCpu=c.cpu_mhz * c.cpu_cores,
            effectiveMemory=mb(v.snap.host.managed_mb), numHosts=1, numEffectiveHosts=1,
            overallStatus="green")

    def contents(self, call):
        return [self.inv.host, self.inv.pool]


class ResourcePool(Entity):
    vim_type = vim.ResourcePool

    def __init__(self, inv):
        super().__init__("ha-root-pool")
        self.inv = inv

    def p_name(self, call):
        return "Resources"

    def p_parent(self, call):
        return self.inv.compute.ref()

    def p_owner(self, call):
        return self.inv.compute.ref()

    def p_resourcePool(self, call):
        return []

    def p_vm(self, call):
        return [vm.ref() for vm in self.inv.vms(call)]

    def contents(self, call):
        return self.inv.vms(call)


# ------------------------------------------------------------------------------------------
# the host


def about_info(view, api_version: str) -> vim.AboutInfo:
    release = ESX_RELEASE[view.config.esx_version]
    build = ESX_BUILD[view.config.esx_version]
    return vim.AboutInfo(
        name="VMware ESXi", fullName=f"VMware ESXi {release} build-{build} (memtui simulated host)",
        vendor="VMware, Inc.", version=release, build=build, localeVersion="INTL", localeBuild="000",
        osType="vmnix-x86", productLineId="embeddedEsx", apiType="HostAgent", apiVersion=api_version,
        instanceUuid=stable_uuid("host", view.config.name), licenseProductName="VMware ESX Server",
        licenseProductVersion=release.rsplit(".", 1)[0])


class HostSystem(Entity):
    vim_type = vim.HostSystem
    shared_properties = frozenset({"summary", "hardware"})

    def __init__(self, inv):
        super().__init__("ha-host")
        self.inv = inv

    def p_name(self, call):
        return call.view.config.name

    def p_parent(self, call):
        return self.inv.compute.ref()

    def p_vm(self, call):
        return [vm.ref() for vm in self.inv.vms(call)]

    def p_datastore(self, call):
        return []

    def p_network(self, call):
        return []

    def p_configManager(self, call):
        return vim.host.ConfigManager(advancedOption=self.inv.advanced_options.ref())

    def p_runtime(self, call):
        return vim.host.RuntimeInfo(connectionState="connected", powerState="poweredOn",
                                    inMaintenanceMode=False, bootTime=call.view.boot_time)

    def p_hardware(self, call):
        c = call.view.config
        return vim.host.HardwareInfo(
            systemInfo=vim.host.SystemInfo(vendor="memtui", model="Simulated ESX host",
                                           uuid=stable_uuid("host", c.name)),
            cpuInfo=vim.host.CpuInfo(numCpuPackages=1, numCpuCores=c.cpu_cores, numCpuThreads=c.cpu_cores,
                                     hz=c.cpu_mhz * 1_000_000),
            cpuPkg=[vim.host.CpuPackage(index=0, vendor="memtui", hz=c.cpu_mhz * 1_000_000, busHz=100_000_000,
                                        description="Simulated CPU", threadId=list(range(c.cpu_cores)))],
            memorySize=c.memory_mb * 1024 * 1024, smcPresent=False)

    def p_summary(self, call):
        v = call.view
        c = v.config
        h = v.snap.host
        hardware = vim.host.Summary.HardwareSummary(
            vendor="memtui", model="Simulated ESX host", uuid=stable_uuid("host", c.name),
            memorySize=c.memory_mb * 1024 * 1024, cpuModel="Simulated CPU", cpuMhz=c.cpu_mhz,
            numCpuPkgs=1, numCpuCores=c.cpu_cores, numCpuThreads=c.cpu_cores, numNics=0, numHBAs=0)
        quick = vim.host.Summary.QuickStats(
            overallCpuUsage=0, overallMemoryUsage=mb(h.memory_mb - h.free_mb),
            uptime=int(v.snap.t), distributedCpuFairness=None)
        config = vim.host.Summary.ConfigSummary(
            name=c.name, port=call.api.port, vmotionEnabled=False, faultToleranceEnabled=False,
            product=about_info(v, call.api.api_version))
        return vim.host.Summary(
            host=self.ref(), hardware=hardware, runtime=self.p_runtime(call), config=config,
            quickStats=quick, overallStatus="green", rebootRequired=False)


# ------------------------------------------------------------------------------------------
# virtual machines


def shares_info(vm) -> vim.SharesInfo:
    if isinstance(vm.shares, str):
        return vim.SharesInfo(level=vm.shares, shares=vm.shares_value)
    return vim.SharesInfo(level="custom", shares=int(vm.shares))


def memory_allocation(vm) -> vim.ResourceAllocationInfo:
    return vim.ResourceAllocationInfo(
        reservation=int(vm.reservation_mb), limit=-1 if vm.limit_mb is None else int(vm.limit_mb),
        expandableReservation=False, shares=shares_info(vm))


GUEST_ID = "otherGuest64"
GUEST_FULL_NAME = "Other (64-bit)"


class VirtualMachine(Entity):
    vim_type = vim.VirtualMachine
    shared_properties = frozenset({"config", "summary", "runtime", "guest", "summary__quickStats",
                                   "summary__runtime"})

    def __init__(self, moid: str, name: str, inv):
        super().__init__(moid)
        self.name = name
        self.inv = inv

    def parts(self, call):
        """(VMConfig, VMMetrics) now; the VM exists (resolve checked)."""
        view = call.view
        return view.vm_config(self.name), view.snap.vm(self.name)

    def p_name(self, call):
        return self.name

    def p_parent(self, call):
        return self.inv.vm_folder.ref()

    def p_resourcePool(self, call):
        return self.inv.pool.ref()

    def p_datastore(self, call):
        return []

    def p_network(self, call):
        return []

    def p_guestHeartbeatStatus(self, call):
        return self._heartbeat(call)

    def _heartbeat(self, call) -> str:
        vm, m = self.parts(call)
        return "green" if self._tools_running(vm, m) else "gray"

    @staticmethod
    def _tools_running(vm, m) -> bool:
        return m.power == "on" and vm.tools and not m.booting

    def _tools_status(self, vm, m) -> tuple[str, str, str]:
        """(toolsStatus, toolsRunningStatus, toolsVersionStatus2)"""
        if not vm.tools:
            return "toolsNotInstalled", "guestToolsNotRunning", "guestToolsNotInstalled"
        if self._tools_running(vm, m):
            return "toolsOk", "guestToolsRunning", "guestToolsCurrent"
        return "toolsNotRunning", "guestToolsNotRunning", "guestToolsCurrent"

    def p_runtime(self, call):
        vm, m = self.parts(call)
        on = m.power == "on"
        boot = None
        if on and vm.name in call.view.power_on_t:
            from datetime import timedelta

            boot = call.view.boot_time + timedelta(seconds=call.view.power_on_t[vm.name])
        return vim.vm.RuntimeInfo(
            host=self.inv.host.ref(), connectionState="connected",
            powerState="poweredOn" if on else "poweredOff", faultToleranceState="notConfigured",
            toolsInstallerMounted=False, bootTime=boot, numMksConnections=0,
            recordReplayState="inactive", onlineStandby=False, consolidationNeeded=False,
            maxMemoryUsage=mb(min(vm.memory_mb, vm.limit_mb if vm.limit_mb is not None else vm.memory_mb)),
            maxCpuUsage=call.view.config.cpu_mhz * vm.vcpus)

    def _uuid(self) -> str:
        return stable_uuid("vm", self.name)

    def _vmx_path(self) -> str:
        return f"[datastore1] {self.name}/{self.name}.vmx"

    def p_config(self, call):
        vm, m = self.parts(call)
        v = call.view
        extra = [vim.option.OptionValue(key="sched.mem.pshare.enable", value="TRUE" if vm.page_sharing else "FALSE")]
        if vm.max_balloon_mb is not None:
            extra.append(vim.option.OptionValue(key="sched.mem.maxmemctl", value=str(vm.max_balloon_mb)))
        return vim.vm.ConfigInfo(
            changeVersion=str(call.api.change_version), modified=v.boot_time, name=vm.name,
            guestFullName=GUEST_FULL_NAME, version=VM_HW_VERSION[v.config.esx_version], uuid=self._uuid(),
            instanceUuid=stable_uuid("vm-instance", vm.name), template=False, guestId=GUEST_ID,
            alternateGuestName="", annotation=f"content family: {vm.content_family}" if vm.content_family else "",
            files=vim.vm.FileInfo(vmPathName=self._vmx_path(), logDirectory=f"[datastore1] {vm.name}"),
            flags=vim.vm.FlagInfo(), defaultPowerOps=vim.vm.DefaultPowerOpInfo(),
            tools=vim.vm.ToolsConfigInfo(toolsVersion=TOOLS_VERSION if vm.tools else 0),
            hardware=vim.vm.VirtualHardware(numCPU=vm.vcpus, numCoresPerSocket=1, memoryMB=int(vm.memory_mb), device=[]),
            memoryAllocation=memory_allocation(vm),
            cpuAllocation=vim.ResourceAllocationInfo(reservation=0, limit=-1, expandableReservation=False,
                                                     shares=vim.SharesInfo(level="normal", shares=1000 * vm.vcpus)),
            memoryReservationLockedToMax=False, swapPlacement="inherit", extraConfig=extra)

    def p_guest(self, call):
        vm, m = self.parts(call)
        status, running, version = self._tools_status(vm, m)
        return vim.vm.GuestInfo(
            toolsStatus=status, toolsRunningStatus=running, toolsVersionStatus2=version,
            toolsVersion=str(TOOLS_VERSION if vm.tools else 0),
            guestState="running" if m.power == "on" else "notRunning",
            guestId=GUEST_ID if m.power == "on" else None,
            guestFullName=GUEST_FULL_NAME if m.power == "on" else None)

    def quick_stats(self, call):
        vm, m = self.parts(call)
        if m.power != "on":
            return vim.vm.Summary.QuickStats(guestHeartbeatStatus="gray", overallCpuUsage=0,
                                             guestMemoryUsage=0, hostMemoryUsage=0, uptimeSeconds=0)
        since = call.view.snap.t - call.view.power_on_t.get(vm.name, call.view.snap.t)
        return vim.vm.Summary.QuickStats(
            guestHeartbeatStatus=self._heartbeat(call), overallCpuUsage=0, overallCpuDemand=0,
            guestMemoryUsage=mb(m.active_mb), hostMemoryUsage=mb(m.consumed_mb + m.overhead_mb),
            grantedMemory=mb(m.granted_mb), privateMemory=mb(m.private_mb), sharedMemory=mb(m.shared_mb),
            swappedMemory=mb(m.swapped_mb), balloonedMemory=mb(m.balloon_mb),
            consumedOverheadMemory=mb(m.overhead_mb), compressedMemory=int(round(m.zipped_mb * 1024)),
            activeMemory=mb(m.active_mb), uptimeSeconds=int(since),
            staticMemoryEntitlement=mb(m.target_mb + m.overhead_mb))

    def do_ReconfigVM_Task(self, call, spec):
        from memtui.vsphere.vmops import reconfigure

        return reconfigure(self, call, spec)

    def do_PowerOnVM_Task(self, call, host=None):
        from memtui.vsphere.vmops import power

        return power(self, call, True)

    def do_PowerOffVM_Task(self, call):
        from memtui.vsphere.vmops import power

        return power(self, call, False)

    def p_summary__quickStats(self, call):
        return self.quick_stats(call)

    def p_summary__runtime(self, call):
        return self.p_runtime(call)

    def p_summary(self, call):
        vm, m = self.parts(call)
        status, running, version = self._tools_status(vm, m)
        config = vim.vm.Summary.ConfigSummary(
            name=vm.name, template=False, vmPathName=self._vmx_path(), memorySizeMB=int(vm.memory_mb),
            numCpu=vm.vcpus, memoryReservation=int(vm.reservation_mb), cpuReservation=0,
            numEthernetCards=0, numVirtualDisks=0, uuid=self._uuid(),
            instanceUuid=stable_uuid("vm-instance", vm.name), guestId=GUEST_ID, guestFullName=GUEST_FULL_NAME,
            annotation="")
        guest = vim.vm.Summary.GuestSummary(
            toolsStatus=status, toolsRunningStatus=running, toolsVersionStatus2=version,
            guestId=GUEST_ID if m.power == "on" else None)
        return vim.vm.Summary(vm=self.ref(), runtime=self.p_runtime(call), guest=guest, config=config,
                              quickStats=self.quick_stats(call), overallStatus="green")


# ------------------------------------------------------------------------------------------
# the inventory


class Inventory:
    """The host agent's inventory: the fixed objects and one VirtualMachine per VM of the
    model (ids kept per VM name for the life of the server)."""

    def __init__(self):
        self.root_folder = Folder("ha-folder-root", "Datacenters", None, ["Datacenter", "Folder"],
                                  lambda call: [self.datacenter])
        self.datacenter = Datacenter(self)
        self.vm_folder = Folder("ha-folder-vm", "vm", self.datacenter, ["VirtualMachine", "Folder"],
                                lambda call: self.vms(call))
        self.host_folder = Folder("ha-folder-host", "host", self.datacenter, ["ComputeResource", "Folder"],
                                  lambda call: [self.compute])
        self.datastore_folder = Folder("ha-folder-datastore", "datastore", self.datacenter,
                                       ["Datastore", "Folder"], lambda call: [])
        self.network_folder = Folder("ha-folder-network", "network", self.datacenter, ["Network", "Folder"],
                                     lambda call: [])
        self.compute = ComputeResource(self)
        self.pool = ResourcePool(self)
        self.host = HostSystem(self)
        self.advanced_options = None  # set by the API (an OptionManager)
        self._ids_lock = threading.Lock()
        self._vm_ids: dict[str, str] = {}
        self._vm_objects: dict[str, VirtualMachine] = {}
        self.fixed: dict[str, MO] = {}
        for mo in (self.root_folder, self.datacenter, self.vm_folder, self.host_folder,
                   self.datastore_folder, self.network_folder, self.compute, self.pool, self.host):
            self.add(mo)

    def add(self, mo: MO) -> None:
        self.fixed[mo.moid] = mo

    def vm_object(self, name: str) -> VirtualMachine:
        with self._ids_lock:
            moid = self._vm_ids.get(name)
            if moid is None:
                moid = self._vm_ids[name] = str(len(self._vm_ids) + 1)
                self._vm_objects[moid] = VirtualMachine(moid, name, self)
            return self._vm_objects[moid]

    def vms(self, call) -> list[VirtualMachine]:
        return [self.vm_object(vm.name) for vm in call.view.vms]

    def vm_by_moid(self, moid: str, call) -> VirtualMachine | None:
        mo = self._vm_objects.get(moid)
        if mo is None:
            return None
        names = {vm.name for vm in call.view.vms}
        return mo if mo.name in names else None

    def children(self, mo: MO, call) -> list[MO]:
        """An entity's direct contents, as a container view sees them."""
        fn = getattr(mo, "contents", None)
        return fn(call) if fn else []
