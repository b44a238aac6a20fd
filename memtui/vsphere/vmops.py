"""Virtual machine tasks: ReconfigVM_Task (memory, vCPUs, memory allocation, the balloon and
page-sharing options), PowerOnVM_Task and PowerOffVM_Task.

A task finishes before its call returns: the model changes at once or refuses. A refusal is
the task's error, as vSphere reports it: admission control as InsufficientMemoryResourcesFault
(a kind of InsufficientResourcesFault) with the shortfall in its message, a bad value as
InvalidArgument naming the ConfigSpec property, a change a powered-on VM cannot take as
InvalidPowerState.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyVmomi import vim, vmodl

from memtui import spec

if TYPE_CHECKING:
    from memtui.vsphere.api import Call
    from memtui.vsphere.inventory import VirtualMachine

MB = 1024 * 1024

# ConfigSpec properties the simulated host takes; any other one set is refused (NotSupported).
_TAKEN = {"memoryMB", "numCPUs", "memoryAllocation", "extraConfig", "changeVersion"}
_IGNORED = {"dynamicType", "dynamicProperty"}
_EXTRA_KEYS = {"sched.mem.maxmemctl": "max_balloon_mb", "sched.mem.pshare.enable": "page_sharing"}

# which ConfigSpec property a model refusal is about, by the model's key in its message
_PROPERTY_OF = (
    ("memory_mb", "spec.memoryMB"), ("vcpus", "spec.numCPUs"),
    ("reservation_mb", "spec.memoryAllocation.reservation"), ("limit_mb", "spec.memoryAllocation.limit"),
    ("shares", "spec.memoryAllocation.shares"), ("max_balloon_mb", "spec.extraConfig"),
)


def _bad(message: str, prop: str) -> vmodl.fault.InvalidArgument:
    return vmodl.fault.InvalidArgument(msg=f"A specified parameter was not correct: {prop}: {message}",
                                       invalidProperty=prop)


def _whole(value, prop: str, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{value!r} is not a whole number", prop)
    if low is not None and value < low:
        raise _bad(f"must be at least {low}", prop)
    return int(value)


def changes_from_spec(config_spec, vm_config) -> dict:
    """The model's VM settings a ConfigSpec asks for; raises InvalidArgument or NotSupported."""
    for p in type(config_spec)._GetPropertyList():
        if p.name in _TAKEN or p.name in _IGNORED:
            continue
        value = getattr(config_spec, p.name, None)
        if value is None or (isinstance(value, list) and not value):
            continue
        raise vmodl.fault.NotSupported(
            msg=f"ConfigSpec.{p.name} is not supported by this simulated host: it models memory "
                f"(memoryMB, numCPUs, memoryAllocation, extraConfig sched.mem.maxmemctl / sched.mem.pshare.enable)")
    changes: dict = {}
    if config_spec.memoryMB is not None:
        changes["memory_mb"] = _whole(config_spec.memoryMB, "spec.memoryMB", 1)
    if config_spec.numCPUs is not None:
        changes["vcpus"] = _whole(config_spec.numCPUs, "spec.numCPUs", 1)
    alloc = config_spec.memoryAllocation
    if alloc is not None:
        if alloc.reservation is not None:
            changes["reservation_mb"] = _whole(alloc.reservation, "spec.memoryAllocation.reservation", 0)
        if alloc.limit is not None:
            limit = _whole(alloc.limit, "spec.memoryAllocation.limit", -1)
            changes["limit_mb"] = None if limit == -1 else limit
        if alloc.expandableReservation:
            raise _bad("a VM's reservation is not expandable", "spec.memoryAllocation.expandableReservation")
        if alloc.shares is not None:
            level = alloc.shares.level
            if level == "custom":
                if alloc.shares.shares is None:
                    raise _bad("custom shares need a number of shares", "spec.memoryAllocation.shares.shares")
                changes["shares"] = _whole(alloc.shares.shares, "spec.memoryAllocation.shares.shares", 1)
            elif level in spec.SHARES_PER_MB:
                changes["shares"] = level
            else:
                raise _bad(f"share level {level!r} is not low, normal, high or custom",
                           "spec.memoryAllocation.shares.level")
    for ov in config_spec.extraConfig or []:
        key = _EXTRA_KEYS.get(ov.key)
        if key is None:
            raise vmodl.fault.NotSupported(
                msg=f"extraConfig key {ov.key!r} is not supported by this simulated host "
                    f"(only {', '.join(sorted(_EXTRA_KEYS))})")
        text = "" if ov.value is None else str(ov.value).strip()
        if key == "max_balloon_mb":
            if text == "":
                changes[key] = None
            elif text.isdigit():
                changes[key] = int(text)
            else:
                raise _bad(f"sched.mem.maxmemctl is a whole number of MB, not {ov.value!r}", "spec.extraConfig")
        else:
            if text.upper() not in ("TRUE", "FALSE"):
                raise _bad(f"sched.mem.pshare.enable is TRUE or FALSE, not {ov.value!r}", "spec.extraConfig")
            changes[key] = text.upper() == "TRUE"
    return changes


def model_fault(exc: Exception, vm_name: str) -> vmodl.MethodFault:
    """The vSphere fault for a refusal by the model (or by read-only mode or a lab)."""
    from memtui.model import AdmissionError, SettingError
    from memtui.session import ReadOnlyError, Refused

    message = str(exc)
    if isinstance(exc, _PowerState):
        requested = "poweredOff" if exc.state == "poweredOn" else "poweredOn"
        return vim.fault.InvalidPowerState(msg=message, existingState=exc.state, requestedState=requested)
    if isinstance(exc, AdmissionError):
        if "swap file" in message:
            return vim.fault.InsufficientResourcesFault(msg=message)
        short = max(0.0, float(exc.shortfall_mb))
        return vim.fault.InsufficientMemoryResourcesFault(
            msg=f"Insufficient memory resources: {message}",
            requested=int(round(short * MB)), unreserved=0)
    if isinstance(exc, KeyError):  # the VM went (deleted in the terminal UI meanwhile)
        return vmodl.fault.ManagedObjectNotFound(msg=f"virtual machine {vm_name} is gone")
    if isinstance(exc, ReadOnlyError):
        return vim.fault.NoPermission(msg=message, privilegeId="VirtualMachine.Config.Memory")
    if isinstance(exc, Refused):
        return vim.fault.NoPermission(msg=f"the running lab refuses this change: {message}")
    if isinstance(exc, SettingError):
        if "is powered on" in message:
            return vim.fault.InvalidPowerState(msg=message, requestedState="poweredOff", existingState="poweredOn")
        for key, prop in _PROPERTY_OF:
            if message.startswith(key) or f" {key} " in message:
                return _bad(message, prop)
        return _bad(message, "spec")
    return vmodl.fault.SystemError(msg=message, reason=message)


def _admission_detail(fault: vmodl.MethodFault, host) -> None:
    """Fill in InsufficientMemoryResourcesFault's figures (bytes) from the host's books:
    what is unreserved, and what was asked (unreserved + the shortfall)."""
    if isinstance(fault, vim.fault.InsufficientMemoryResourcesFault):
        unres = max(0.0, host.unreserved_mb)
        fault.unreserved = int(round(unres * MB))
        fault.requested = int(round(unres * MB)) + fault.requested


def run_task(vm: VirtualMachine, call: Call, method: str, description_id: str, what: str, fn) -> object:
    """Run `fn(session)` as a task on `vm`; the task records success or the fault."""
    api = call.api
    start = api.gate.run(api.gate.clock)

    def go(session):
        api.log(session, call, what, vm.name)
        try:
            fn(session)
        except Exception as exc:
            fault = model_fault(exc, vm.name)
            if isinstance(fault, vmodl.fault.ManagedObjectNotFound):
                fault.obj = vm.ref()
            _admission_detail(fault, session.host)
            api.log(session, call, f"{what}: refused: {fault.msg}", vm.name)
            return fault
        return None

    if api.find(vm.ref(), call) is None:
        raise vmodl.fault.ManagedObjectNotFound(msg=f"virtual machine {vm.moid} is gone", obj=vm.ref())
    error = api.change(call, go)
    task = api.tasks.finished(call, method, description_id, vm, vm.name, start, error)
    return task.ref()


def reconfigure(vm: VirtualMachine, call: Call, config_spec) -> object:
    current = call.view.vm_config(vm.name)
    try:
        changes = changes_from_spec(config_spec, current)
        error = None
    except vmodl.MethodFault as fault:
        changes, error = {}, fault
    words = ", ".join(f"{k} = {'unlimited' if v is None and k == 'limit_mb' else v}" for k, v in changes.items())
    what = f"reconfigure {vm.name}" + (f": {words}" if words else "")
    if error is not None:
        api = call.api
        start = api.gate.run(api.gate.clock)
        api.change(call, lambda session: api.log(session, call, f"{what}: refused: {error.msg}", vm.name))
        return api.tasks.finished(call, "ReconfigVM_Task", "VirtualMachine.reconfigure", vm, vm.name,
                                  start, error).ref()

    def apply(session):
        if changes:
            session.set_vm(vm.name, **changes)

    return run_task(vm, call, "ReconfigVM_Task", "VirtualMachine.reconfigure", what, apply)


def power(vm: VirtualMachine, call: Call, on: bool) -> object:
    method = "PowerOnVM_Task" if on else "PowerOffVM_Task"
    desc = "VirtualMachine.powerOn" if on else "VirtualMachine.powerOff"

    def apply(session):
        i = session.host.index(vm.name)
        if bool(session.host.on[i]) == on:
            state = "poweredOn" if on else "poweredOff"
            raise _PowerState(state)
        if on:
            session.power_on(vm.name)
        else:
            session.power_off(vm.name)

    return run_task(vm, call, method, desc, f"power {'on' if on else 'off'} {vm.name}", apply)


class _PowerState(Exception):
    def __init__(self, state: str):
        super().__init__(f"The attempted operation cannot be performed in the current state ({state}).")
        self.state = state


__all__ = ["reconfigure", "power", "changes_from_spec"]
