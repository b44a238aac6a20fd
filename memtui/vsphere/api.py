"""The vSphere API of the simulated host agent: sessions, the service objects, tasks, advanced
options, and the dispatch of one parsed SOAP call to the managed object it names.

Every call that changes the host checks everything first and changes nothing when it
refuses; the change itself runs with the model held (`Gate.run`) and is logged in the host's
event log as coming from the API.
"""

from __future__ import annotations

import builtins
import hmac
import itertools
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pyVmomi import SoapAdapter, VmomiSupport, vim, vmodl

from memtui import spec
from memtui.metrics import LogEvent
from memtui.vsphere import soap
from memtui.vsphere.collector import Collector, PropertyFilter, declared_type
from memtui.vsphere.inventory import (
    MO,
    ComputeResource,
    Datacenter,
    Folder,
    HostSystem,
    Inventory,
    ResourcePool,
    VirtualMachine,
    about_info,
)
from memtui.vsphere.state import Gate, View

API_EVENT_KIND = "api"
SESSION_IDLE_S = 30 * 60  # hostd's default idle session timeout
MAX_SESSIONS = 256  # the idlest session is dropped past this many
MAX_SESSION_OBJECTS = 1000  # views, filters and collectors per session
MAX_TASKS = 500
UNAUTHENTICATED_OK = {"RetrieveServiceContent", "Login", "CurrentTime"}


def newest_version() -> str:
    return VmomiSupport.GetServiceVersions("vim25")[0]


def version_id(version: str) -> str:
    return VmomiSupport.versionIdMap[version]


class ApiSession:
    def __init__(self, key: str, user: str, locale: str | None, ip: str, agent: str):
        self.key = key
        self.user = user
        self.locale = locale or "en"
        self.ip = ip
        self.agent = agent
        self.login_time = datetime.now(UTC)
        self.last_active = time.monotonic()
        self.last_active_time = self.login_time
        self.calls = 0
        self.collector = Collector("ha-property-collector")
        self.objects: dict[str, MO] = {}

    def user_session(self) -> vim.UserSession:
        return vim.UserSession(
            key=self.key, userName=self.user, fullName=self.user, loginTime=self.login_time,
            lastActiveTime=self.last_active_time, locale=self.locale, messageLocale=self.locale,
            extensionSession=False, ipAddress=self.ip, userAgent=self.agent, callCount=self.calls)


class Call:
    """One request being served: who asks, in which API version, and the host's figures at
    this instant (read once, refreshed by long waits)."""

    def __init__(self, api: Api, session: ApiSession | None, version: str):
        self.api = api
        self.session = session
        self.version = version
        self._view: View | None = None

    @property
    def view(self) -> View:
        if self._view is None:
            self._view = self.api.gate.view()
        return self._view

    def refresh(self) -> None:
        self._view = None

    @property
    def user(self) -> str:
        return self.session.user if self.session else "?"


# ------------------------------------------------------------------------------------------
# service objects


class ServiceInstance(MO):
    vim_type = vim.ServiceInstance

    def __init__(self, api: Api):
        super().__init__("ServiceInstance")
        self.api = api

    def content(self, call) -> vim.ServiceInstanceContent:
        api = self.api
        return vim.ServiceInstanceContent(
            rootFolder=api.inventory.root_folder.ref(), propertyCollector=vmodl.query.PropertyCollector("ha-property-collector"),
            viewManager=api.view_manager.ref(), about=about_info(call.view, api.api_version),
            sessionManager=api.session_manager.ref(), perfManager=api.perf_manager.ref(),
            taskManager=api.task_manager.ref(), searchIndex=api.search_index.ref())

    def p_content(self, call):
        return self.content(call)

    def p_serverClock(self, call):
        return call.view.now

    def do_RetrieveServiceContent(self, call):
        return self.content(call)

    def do_CurrentTime(self, call):
        return call.view.now


class SessionManager(MO):
    vim_type = vim.SessionManager

    def __init__(self, api: Api):
        super().__init__("ha-sessionmgr")
        self.api = api

    def p_currentSession(self, call):
        return call.session.user_session() if call.session else None

    def p_sessionList(self, call):
        with self.api.lock:
            return [s.user_session() for s in self.api.sessions.values()]

    def p_defaultLocale(self, call):
        return "en"

    def p_supportedLocaleList(self, call):
        return ["en"]

    def p_message(self, call):
        return None

    def do_Login(self, call, userName, password, locale=None):
        api = self.api
        ok_user = hmac.compare_digest(userName.encode(), api.user.encode())
        ok_pwd = hmac.compare_digest(password.encode(), api.password.encode())
        if not (ok_user and ok_pwd):
            raise vim.fault.InvalidLogin(msg="Cannot complete login due to an incorrect user name or password.")
        session = api.new_session(userName, locale, call)
        call.session = session
        call.new_cookie = session.key
        return session.user_session()

    def do_Logout(self, call):
        self.api.end_session(call.session)
        call.session = None

    def do_SessionIsActive(self, call, sessionID, userName):
        with self.api.lock:
            s = self.api.sessions.get(sessionID)
            return s is not None and s.user == userName


class ContainerView(MO):
    vim_type = vim.view.ContainerView

    def __init__(self, moid, container: MO, types: list, recursive: bool, owner: ApiSession):
        super().__init__(moid)
        self.container = container
        self.types = types
        self.recursive = recursive
        self.owner = owner

    def p_container(self, call):
        return self.container.ref()

    def p_type(self, call):
        return [VmomiSupport.GetWsdlName(t) for t in self.types]

    def p_recursive(self, call):
        return self.recursive

    def members(self, call) -> list[MO]:
        inv = call.api.inventory
        out: OrderedDict[str, MO] = OrderedDict()

        def walk(mo: MO, depth: int) -> None:
            for child in inv.children(mo, call):
                if child.moid in out:
                    continue
                if not self.types or any(issubclass(child.vim_type, t) for t in self.types):
                    out[child.moid] = child
                if self.recursive and depth < 16:
                    walk(child, depth + 1)

        walk(self.container, 0)
        return list(out.values())

    def p_view(self, call):
        return [mo.ref() for mo in self.members(call)]

    def do_DestroyView(self, call):
        call.api.forget(self.moid)


class ViewManager(MO):
    vim_type = vim.view.ViewManager

    def __init__(self, api: Api):
        super().__init__("ViewManager")
        self.api = api

    def p_viewList(self, call):
        return [mo.ref() for mo in call.session.objects.values() if isinstance(mo, ContainerView)]

    def do_CreateContainerView(self, call, container, recursive, type=None):
        target = self.api.resolve(container, call)
        if not isinstance(target, (Folder, Datacenter, ComputeResource, ResourcePool, HostSystem)):
            raise vmodl.fault.InvalidArgument(msg=f"{container._moId} is not a container", invalidProperty="container")
        types = list(type or [])
        for t in types:
            if not isinstance(t, builtins.type) or not issubclass(t, vim.ManagedEntity):
                raise vmodl.fault.InvalidArgument(msg=f"{t} is not a managed entity type", invalidProperty="type")
        view = ContainerView(self.api.session_moid(call, "view"), target, types, bool(recursive), call.session)
        self.api.remember(view, call)
        return view.ref()


class SearchIndex(MO):
    """Finding entities by inventory path, by name under a parent, by UUID."""

    vim_type = vim.SearchIndex

    def __init__(self, api: Api):
        super().__init__("ha-searchindex")
        self.api = api

    def _name(self, mo: MO, call) -> str:
        return mo.get("name", call)

    def _child(self, parent: MO, name: str, call) -> MO | None:
        for child in self.api.inventory.children(parent, call):
            if self._name(child, call) == name:
                return child
        return None

    def do_FindByInventoryPath(self, call, inventoryPath):
        mo: MO | None = self.api.inventory.root_folder
        for part in [p for p in inventoryPath.split("/") if p]:
            mo = self._child(mo, part, call) if mo is not None else None
        return mo.ref() if mo is not None and mo is not self.api.inventory.root_folder else None

    def do_FindChild(self, call, entity, name):
        child = self._child(self.api.resolve(entity, call), name, call)
        return child.ref() if child is not None else None

    def do_FindByUuid(self, call, uuid, vmSearch, datacenter=None, instanceUuid=None):
        from memtui.vsphere.inventory import stable_uuid

        inv = self.api.inventory
        if not vmSearch:
            host_uuid = stable_uuid("host", call.view.config.name)
            return inv.host.ref() if uuid.lower() == host_uuid else None
        kind = "vm-instance" if instanceUuid else "vm"
        for vm in inv.vms(call):
            if stable_uuid(kind, vm.name) == uuid.lower():
                return vm.ref()
        return None

    def do_FindAllByUuid(self, call, uuid, vmSearch, datacenter=None, instanceUuid=None):
        found = self.do_FindByUuid(call, uuid, vmSearch, datacenter, instanceUuid)
        return [found] if found is not None else []


# ------------------------------------------------------------------------------------------
# tasks


class Task(MO):
    vim_type = vim.Task

    def __init__(self, moid, info: vim.TaskInfo, entity_moid: str):
        super().__init__(moid)
        self.info = info
        self.entity_moid = entity_moid

    def p_info(self, call):
        return self.info

    def do_CancelTask(self, call):
        raise vim.fault.InvalidState(msg=f"task {self.moid} has finished and cannot be cancelled")


class TaskManager(MO):
    vim_type = vim.TaskManager

    def __init__(self, api: Api):
        super().__init__("ha-taskmgr")
        self.api = api
        self.tasks: OrderedDict[str, Task] = OrderedDict()
        self._ids = itertools.count(1)
        self._chain = itertools.count(1)

    def p_recentTask(self, call):
        return self.recent(None)

    def p_maxCollector(self, call):
        return 0

    def recent(self, entity_moid: str | None) -> list:
        with self.api.lock:
            tasks = [t for t in self.tasks.values() if entity_moid is None or t.entity_moid == entity_moid]
        return [t.ref() for t in tasks[-10:]]

    def task(self, moid: str) -> Task | None:
        with self.api.lock:
            return self.tasks.get(moid)

    def finished(self, call, method: str, description_id: str, entity: MO, entity_name: str,
                 start: datetime, error: vmodl.MethodFault | None, result: Any = None) -> Task:
        if error is not None:
            try:  # a fault missing a field the API requires would break every read of the task
                SoapAdapter.SerializeToStr(error, VmomiSupport.Object(name="error", type=vmodl.MethodFault,
                                                                      version=call.version, flags=0), call.version)
            except TypeError:
                error = vmodl.fault.SystemError(msg=error.msg or type(error).__name__, reason=error.msg or "")
        with self.api.lock:
            n = next(self._ids)
            moid = f"haTask-{entity.moid}-vim.{description_id}-{n}"
            info = vim.TaskInfo(
                key=moid, task=vim.Task(moid), name=VmomiSupport.GetWsdlMethod(soap.NS_VIM25, method),
                descriptionId=description_id, entity=entity.ref(), entityName=entity_name,
                state="error" if error is not None else "success", cancelled=False, cancelable=False,
                error=error, result=result, reason=vim.TaskReasonUser(userName=call.user),
                queueTime=start, startTime=start, completeTime=call.api.gate.run(call.api.gate.clock),
                eventChainId=next(self._chain), progress=100)
            task = Task(moid, info, entity.moid)
            self.tasks[moid] = task
            while len(self.tasks) > MAX_TASKS:
                self.tasks.popitem(last=False)
        return task


# ------------------------------------------------------------------------------------------
# advanced options


class OptionManager(MO):
    """The host's advanced settings (configManager.advancedOption): every Mem.* setting of
    the host's ESX release, with its range."""

    vim_type = vim.option.OptionManager

    def __init__(self, api: Api):
        super().__init__("ha-adv-options")
        self.api = api

    @staticmethod
    def _settings(view: View) -> list[spec.AdvancedSetting]:
        return [s for s in spec.ADVANCED_SETTINGS.values()
                if spec.version_at_least(view.config.esx_version, s.since)]

    def _values(self, view: View, settings) -> list:
        return [vim.option.OptionValue(key=s.name, value=VmomiSupport.long(view.advanced[s.name]))
                for s in settings]

    def p_setting(self, call):
        return self._values(call.view, self._settings(call.view))

    def p_supportedOption(self, call):
        return [vim.option.OptionDef(
            key=s.name, label=s.name, summary=s.meaning,
            optionType=vim.option.LongOption(min=s.minimum, max=s.maximum, defaultValue=s.default,
                                             valueIsReadonly=False))
            for s in self._settings(call.view)]

    def do_QueryOptions(self, call, name=None):
        settings = self._settings(call.view)
        if name:
            if name.endswith("."):
                settings = [s for s in settings if s.name.startswith(name)]
            else:
                settings = [s for s in settings if s.name == name]
            if not settings:
                raise vim.fault.InvalidName(msg=f"no advanced option {name!r} on this host", name=name)
        return self._values(call.view, settings)

    def do_UpdateOptions(self, call, changedValue):
        view = call.view
        known = {s.name: s for s in self._settings(view)}
        wanted: list[tuple[str, int]] = []
        for ov in changedValue:
            s = known.get(ov.key)
            if s is None:
                raise vim.fault.InvalidName(msg=f"no advanced option {ov.key!r} on this host", name=ov.key or "")
            value = ov.value
            if isinstance(value, bool) or not isinstance(value, int):
                raise vmodl.fault.InvalidArgument(
                    msg=f"{ov.key} takes a whole number (xsd:long) from {s.minimum} to {s.maximum}, "
                        f"not {value!r}", invalidProperty=ov.key)
            if not s.minimum <= value <= s.maximum:
                raise vmodl.fault.InvalidArgument(
                    msg=f"{ov.key} = {value} is out of range: {s.minimum} to {s.maximum}", invalidProperty=ov.key)
            wanted.append((ov.key, int(value)))

        def apply(session):
            host = session.host
            before = dict(host.advanced)
            what = ", ".join(f"{k} = {v}" for k, v in wanted)
            self.api.log(session, call, f"advanced settings: {what}")
            done = []
            try:
                for k, v in wanted:
                    session.set_advanced(k, v)
                    done.append(k)
            except Exception:
                for k in reversed(done):  # a lab refused a later one: take the earlier back
                    host.set_advanced(k, before[k])
                raise
        self.api.change(call, apply)


# ------------------------------------------------------------------------------------------
# the API


class Api:
    """Everything the endpoint serves, independent of HTTP."""

    MAX_FILTERS = 64

    def __init__(self, gate: Gate, user: str, password: str, port: int = 443):
        from memtui.vsphere.perf import PerformanceManager

        self.gate = gate
        self.user = user
        self.password = password
        self.port = port
        self.version = newest_version()
        self.api_version = version_id(self.version)
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.sessions: OrderedDict[str, ApiSession] = OrderedDict()
        self.inventory = Inventory()
        self.service_instance = ServiceInstance(self)
        self.session_manager = SessionManager(self)
        self.view_manager = ViewManager(self)
        self.task_manager = self.tasks = TaskManager(self)
        self.advanced_options = OptionManager(self)
        self.inventory.advanced_options = self.advanced_options
        self.perf_manager = PerformanceManager(self)
        self.search_index = SearchIndex(self)
        for mo in (self.service_instance, self.session_manager, self.view_manager, self.task_manager,
                   self.advanced_options, self.perf_manager, self.search_index):
            self.inventory.add(mo)
        self._session_ids = itertools.count(1)
        self.change_version = 1
        self.recent_calls: deque[str] = deque(maxlen=50)

    # -------------------------------------------------------------- sessions

    def new_session(self, user: str, locale: str | None, call) -> ApiSession:
        key = secrets.token_hex(20)
        s = ApiSession(key, user, locale, getattr(call, "client_ip", ""), getattr(call, "user_agent", ""))
        with self.lock:
            self._expire()
            self.sessions[key] = s
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
        return s

    def end_session(self, session: ApiSession | None) -> None:
        if session is None:
            return
        with self.lock:
            self.sessions.pop(session.key, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self.sessions.items() if now - s.last_active > SESSION_IDLE_S]:
            del self.sessions[key]

    def session_for(self, key: str | None) -> ApiSession | None:
        if not key:
            return None
        with self.lock:
            self._expire()
            s = self.sessions.get(key)
            if s is not None:
                s.last_active = time.monotonic()
                s.last_active_time = datetime.now(UTC)
                s.calls += 1
                self.sessions.move_to_end(key)
            return s

    # -------------------------------------------------------------- objects

    def session_moid(self, call: Call, kind: str) -> str:
        return f"session[{call.session.key[:16]}]{kind}-{next(self._session_ids)}"

    def remember(self, mo: MO, call: Call) -> None:
        with self.lock:
            objects = call.session.objects
            if len(objects) >= MAX_SESSION_OBJECTS:
                raise vmodl.fault.InvalidArgument(
                    msg=f"a session holds at most {MAX_SESSION_OBJECTS} views, filters and collectors; destroy some")
            objects[mo.moid] = mo

    def forget(self, moid: str) -> None:
        with self.lock:
            for s in self.sessions.values():
                s.objects.pop(moid, None)

    def new_collector(self, call: Call) -> Collector:
        c = Collector(self.session_moid(call, "collector"), owner=call.session.key)
        self.remember(c, call)
        return c

    def find(self, ref, call: Call) -> MO | None:
        """The managed object `ref` names, or None."""
        moid = ref._moId
        ref_type = type(ref)
        mo: MO | None = None
        if moid == "ha-property-collector" and call.session is not None:
            mo = call.session.collector
        elif moid in self.inventory.fixed:
            mo = self.inventory.fixed[moid]
        elif moid.startswith("haTask-"):
            mo = self.tasks.task(moid)
        elif call.session is not None and moid in call.session.objects:
            mo = call.session.objects[moid]
        elif moid.isdigit():
            mo = self.inventory.vm_by_moid(moid, call)
        if mo is None:
            return None
        if ref_type is not VmomiSupport.ManagedObject and not issubclass(mo.vim_type, ref_type):
            return None
        return mo

    def resolve(self, ref, call: Call) -> MO:
        mo = self.find(ref, call)
        if mo is None:
            raise vmodl.fault.ManagedObjectNotFound(
                msg=f"The object '{VmomiSupport.GetWsdlName(type(ref))}:{ref._moId}' has already been deleted "
                    f"or has not been completely created", obj=ref)
        return mo

    def reference(self, moid: str):
        """A reference for an object id that may have gone (for 'leave' updates)."""
        if moid.isdigit():
            return vim.VirtualMachine(moid)
        mo = self.inventory.fixed.get(moid)
        return mo.ref() if mo else None

    # -------------------------------------------------------------- changes

    def log(self, session, call: Call, message: str, vm: str | None = None) -> None:
        """An event in the host's log saying the API made (or asked for) a change."""
        session.host.log.append(LogEvent(session.host.t, API_EVENT_KIND,
                                         f"{self.gate.source} ({call.user}): {message}", vm))

    def change(self, call: Call, fn: Callable) -> Any:
        def run(session):
            result = fn(session)
            self.change_version += 1
            self.gate.changed()
            return result
        try:
            return self.gate.run(run)
        finally:
            call.refresh()

    # -------------------------------------------------------------- dispatch

    def dispatch(self, request: soap.Request, call: Call) -> tuple[Any, Any]:
        """(result info, value) for a call; raises a vmodl.MethodFault."""
        name = request.wsdl_name
        if call.session is None and name not in UNAUTHENTICATED_OK:
            raise vim.fault.NotAuthenticated(msg="The session is not authenticated.", object=request.this,
                                             privilegeId="System.View")
        mo = self.resolve(request.this, call)
        if name == soap.FETCH:
            return self._fetch(mo, request.args.get("prop"), call)
        info = request.info
        if not issubclass(mo.vim_type, info.type):
            raise vmodl.fault.MethodNotFound(msg=f"{VmomiSupport.GetWsdlName(mo.vim_type)} has no method {name}",
                                             receiver=request.this, method=name)
        fn = getattr(mo, "do_" + name, None)
        if fn is None:
            raise vmodl.fault.NotSupported(
                msg=f"{name} is not one of the calls this simulated host implements (see docs/vsphere.md)")
        value = fn(call, **request.args)
        if value is not None and isinstance(value, list) and issubclass(info.result, list) \
                and not isinstance(value, VmomiSupport.Array):
            value = info.result(value)
        result_info = VmomiSupport.Object(name="returnval", type=info.result, version=info.version,
                                          flags=info.resultFlags)
        return result_info, value

    def _fetch(self, mo: MO, prop: str | None, call: Call):
        from memtui.vsphere.collector import _UNSET, read_path

        if not prop:
            raise vmodl.fault.InvalidArgument(msg="Fetch needs a property name", invalidProperty="prop")
        typ = declared_type(mo.vim_type, prop)
        value = read_path(mo, prop, call)
        if value is _UNSET:
            value = None
        info = VmomiSupport.Object(name="returnval", type=typ, version=call.version, flags=VmomiSupport.F_OPTIONAL)
        return info, value


__all__ = ["Api", "Call", "ApiSession", "VirtualMachine", "PropertyFilter"]
