"""The PropertyCollector: which objects a filter spec selects (object specs, traversal specs,
named selection specs), which of their properties, in pages for RetrievePropertiesEx, and
changes since a version for WaitForUpdatesEx.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from pyVmomi import SoapAdapter, VmomiSupport, vmodl

from memtui.vsphere.inventory import MO

if TYPE_CHECKING:
    from memtui.vsphere.api import Call

PC = vmodl.query.PropertyCollector
MAX_TRAVERSAL_DEPTH = 32
MAX_OPEN_RESULTS = 32  # unfinished RetrievePropertiesEx results kept per collector
DEFAULT_PAGE = 1000  # objects per RetrievePropertiesEx page when the client gives no maxObjects
WAIT_SLICE_S = 0.2
MAX_WAIT_S = 1800  # WaitForUpdates without a timeout returns empty after this long


def invalid_property(path: str) -> vmodl.query.InvalidProperty:
    return vmodl.query.InvalidProperty(msg=f"invalid property {path!r}", name=path)


def declared_type(vim_type: type, path: str) -> Any:
    """The declared type of `path` on `vim_type`; raises InvalidProperty."""
    t = vim_type
    for seg in path.split("."):
        if not seg or issubclass(t, list) or not (issubclass(t, VmomiSupport.DataObject)
                                                  or issubclass(t, VmomiSupport.ManagedObject)):
            raise invalid_property(path)
        try:
            t = t._GetPropertyInfo(seg).type
        except (AttributeError, KeyError):
            raise invalid_property(path) from None
    return t


_UNSET = object()


def read_path(mo: MO, path: str, call: Call) -> Any:
    """The value of `path` on `mo`, typed for the wire; _UNSET when it has none."""
    segs = path.split(".")
    # the longest part of the path the object serves itself ("summary.quickStats" without
    # building all of "summary"), else its top-level property
    for n in range(len(segs), 0, -1):
        name = "__".join(segs[:n])
        if n == 1 or hasattr(mo, "p_" + name):
            break
    try:
        value = mo.get(name, call)
    except KeyError:
        return _UNSET  # a property of the type that the simulated host does not have
    for seg in segs[n:]:
        if value is None:
            return _UNSET
        value = getattr(value, seg, None)
    if value is None:
        return _UNSET
    if isinstance(value, list) and not isinstance(value, VmomiSupport.Array):
        typ = declared_type(mo.vim_type, path)
        value = typ(value)
    if isinstance(value, list) and not value:
        return value
    return value


class _Selection:
    """The objects and property paths a FilterSpec selects."""

    def __init__(self, call: Call, spec):
        self.call = call
        self.spec = spec
        self.named = {}
        for obj_spec in spec.objectSet or []:
            self._collect_names(obj_spec.selectSet or [])
        for prop_spec in spec.propSet or []:
            if prop_spec.type is None:
                raise vmodl.fault.InvalidArgument(msg="a PropertySpec has no type", invalidProperty="type")
            for path in prop_spec.pathSet or []:
                declared_type(prop_spec.type, path)

    def _collect_names(self, select_set) -> None:
        for s in select_set:
            if isinstance(s, PC.TraversalSpec):
                if s.name:
                    self.named[s.name] = s
                self._collect_names(s.selectSet or [])

    def objects(self) -> list[MO]:
        found: OrderedDict[str, MO] = OrderedDict()
        seen: set[tuple[str, int]] = set()
        api = self.call.api
        for obj_spec in self.spec.objectSet or []:
            if obj_spec.obj is None:
                raise vmodl.fault.InvalidArgument(msg="an ObjectSpec has no obj", invalidProperty="obj")
            mo = api.resolve(obj_spec.obj, self.call)
            self._visit(mo, bool(obj_spec.skip), obj_spec.selectSet or [], found, seen, 0)
        return list(found.values())

    def _visit(self, mo, skip, select_set, found, seen, depth) -> None:
        if not skip:
            found.setdefault(mo.moid, mo)
        if depth > MAX_TRAVERSAL_DEPTH:
            return
        for s in select_set:
            ts = s if isinstance(s, PC.TraversalSpec) else self.named.get(s.name)
            if ts is None:
                raise vmodl.fault.InvalidArgument(msg=f"selection spec {s.name!r} names no traversal spec",
                                                  invalidProperty="selectSet")
            if ts.type is None or not issubclass(mo.vim_type, ts.type):
                continue
            key = (mo.moid, id(ts))
            if key in seen:
                continue
            seen.add(key)
            declared_type(ts.type, ts.path)
            value = read_path(mo, ts.path, self.call)
            if value is _UNSET:
                continue
            refs = value if isinstance(value, list) else [value]
            for ref in refs:
                if not isinstance(ref, VmomiSupport.ManagedObject):
                    continue
                child = self.call.api.find(ref, self.call)
                if child is not None:
                    self._visit(child, bool(ts.skip), ts.selectSet or [], found, seen, depth + 1)

    def paths(self, mo: MO) -> list[str] | None:
        """The property paths asked of `mo`, or None when no PropertySpec covers its type."""
        out: list[str] = []
        matched = False
        for prop_spec in self.spec.propSet or []:
            if not issubclass(mo.vim_type, prop_spec.type):
                continue
            matched = True
            if prop_spec.all:
                names = [n for n in mo.property_names() if _declared(mo.vim_type, n)]
                out.extend(n for n in names if n not in out)
            for p in prop_spec.pathSet or []:
                if p not in out:
                    out.append(p)
        return out if matched else None


def _declared(vim_type, name) -> bool:
    try:
        vim_type._GetPropertyInfo(name)
        return True
    except (AttributeError, KeyError):
        return False


def object_content(mo: MO, paths: list[str], call: Call):
    props = []
    missing = []
    for path in paths:
        try:
            value = read_path(mo, path, call)
        except vmodl.MethodFault as fault:
            missing.append(PC.MissingProperty(path=path, fault=fault))
            continue
        if value is _UNSET:
            continue
        props.append(vmodl.DynamicProperty(name=path, val=value))
    return PC.ObjectContent(obj=mo.ref(), propSet=props, missingSet=missing)


def retrieve(call: Call, spec_set) -> list:
    out = []
    for spec in spec_set or []:
        sel = _Selection(call, spec)
        for mo in sel.objects():
            paths = sel.paths(mo)
            if paths is None:
                continue
            out.append(object_content(mo, paths, call))
    return out


class PropertyFilter(MO):
    vim_type = vmodl.query.PropertyCollector.Filter

    def __init__(self, moid: str, collector: Collector, spec, partial_updates: bool):
        super().__init__(moid)
        self.collector = collector
        self.spec = spec
        self.partial_updates = partial_updates
        self.reported: dict[str, dict[str, str]] = {}  # moid -> path -> serialized value

    def p_spec(self, call):
        return self.spec

    def p_partialUpdates(self, call):
        return self.partial_updates

    def do_DestroyPropertyFilter(self, call):
        self.collector.filters.pop(self.moid, None)
        call.api.forget(self.moid)


def _wire(value, version: str) -> str:
    """The value as it goes on the wire: what tells whether it changed."""
    return SoapAdapter.SerializeToStr(value, VmomiSupport.Object(name="v", type=object, version=version, flags=0),
                                      version)


class Collector(MO):
    """One property collector, as one session sees it."""

    vim_type = vmodl.query.PropertyCollector

    def __init__(self, moid: str, owner: str | None = None):
        super().__init__(moid)
        self.owner = owner  # session key of a collector made by CreatePropertyCollector
        self.filters: dict[str, PropertyFilter] = {}
        self.results: OrderedDict[str, list] = OrderedDict()
        self._tokens = itertools.count(1)
        self._filter_ids = itertools.count(1)
        self.version = 0
        self.cancelled = False

    def p_filter(self, call):
        return [f.ref() for f in self.filters.values()]

    # -------------------------------------------------------------- retrieving

    def do_RetrieveProperties(self, call, specSet):
        return retrieve(call, specSet)

    def do_RetrieveContents(self, call, specSet):  # pyVmomi's name for RetrieveProperties
        return retrieve(call, specSet)

    def _page(self, objects: list, max_objects: int | None):
        if not objects:
            return None
        size = max_objects if max_objects and max_objects > 0 else DEFAULT_PAGE
        page, rest = objects[:size], objects[size:]
        token = None
        if rest:
            token = str(next(self._tokens))
            self.results[token] = (rest, size)
            while len(self.results) > MAX_OPEN_RESULTS:
                self.results.popitem(last=False)
        return PC.RetrieveResult(token=token, objects=page)

    def do_RetrievePropertiesEx(self, call, specSet, options=None):
        max_objects = options.maxObjects if options is not None else None
        if max_objects is not None and max_objects < 0:
            raise vmodl.fault.InvalidArgument(msg="maxObjects cannot be negative", invalidProperty="maxObjects")
        return self._page(retrieve(call, specSet), max_objects)

    def do_ContinueRetrievePropertiesEx(self, call, token):
        held = self.results.pop(token, None)
        if held is None:
            raise vmodl.fault.InvalidArgument(msg=f"unknown or finished retrieval token {token!r}",
                                              invalidProperty="token")
        rest, size = held
        return self._page(rest, size)

    def do_CancelRetrievePropertiesEx(self, call, token):
        if self.results.pop(token, None) is None:
            raise vmodl.fault.InvalidArgument(msg=f"unknown or finished retrieval token {token!r}",
                                              invalidProperty="token")

    # -------------------------------------------------------------- filters and updates

    def do_CreateFilter(self, call, spec, partialUpdates):
        _Selection(call, spec)  # checks the spec
        if len(self.filters) >= call.api.MAX_FILTERS:
            raise vmodl.fault.InvalidArgument(msg=f"a collector holds at most {call.api.MAX_FILTERS} filters")
        moid = f"{self.moid}-filter-{next(self._filter_ids)}"
        f = PropertyFilter(moid, self, spec, bool(partialUpdates))
        self.filters[moid] = f
        call.api.remember(f, call)
        return f.ref()

    def do_DestroyPropertyCollector(self, call):
        if self.owner is None:
            raise vmodl.fault.NotSupported(msg="the session's default property collector cannot be destroyed")
        for moid in list(self.filters):
            call.api.forget(moid)
        self.filters.clear()
        call.api.forget(self.moid)

    def do_CreatePropertyCollector(self, call):
        return call.api.new_collector(call).ref()

    def do_CancelWaitForUpdates(self, call):
        self.cancelled = True

    def _changes(self, call, max_updates: int | None):
        updates = []
        truncated = False
        count = 0
        for f in list(self.filters.values()):
            sel = _Selection(call, f.spec)
            now: dict[str, tuple[MO, dict[str, Any]]] = {}
            for mo in sel.objects():
                paths = sel.paths(mo)
                if paths is None:
                    continue
                values = {}
                for p in paths:
                    v = read_path(mo, p, call)
                    if v is not _UNSET:
                        values[p] = v
                now[mo.moid] = (mo, values)
            obj_updates = []
            for moid, (mo, values) in now.items():
                wire = {p: _wire(v, call.version) for p, v in values.items()}
                old = f.reported.get(moid)
                if old == wire:
                    continue
                if max_updates and count >= max_updates:
                    truncated = True
                    break
                if old is None:
                    changes = [PC.Change(name=p, op="assign", val=v) for p, v in values.items()]
                    kind = "enter"
                else:
                    changes = [PC.Change(name=p, op="assign", val=values[p])
                               for p in values if old.get(p) != wire[p]]
                    changes += [PC.Change(name=p, op="remove") for p in old if p not in wire]
                    kind = "modify"
                obj_updates.append(PC.ObjectUpdate(kind=kind, obj=mo.ref(), changeSet=changes))
                f.reported[moid] = wire
                count += 1
            for moid in [m for m in f.reported if m not in now]:
                if max_updates and count >= max_updates:
                    truncated = True
                    break
                mo_ref = call.api.reference(moid)
                del f.reported[moid]
                if mo_ref is not None:
                    obj_updates.append(PC.ObjectUpdate(kind="leave", obj=mo_ref, changeSet=[]))
                    count += 1
            if obj_updates:
                updates.append(PC.FilterUpdate(filter=f.ref(), objectSet=obj_updates))
        return updates, truncated

    def wait(self, call, version: str | None, max_wait_s: float | None, max_updates: int | None):
        if version:
            # a version this collector issued: what changed since the last report
            if not version.isdigit() or int(version) > self.version:
                raise vmodl.query.InvalidCollectorVersion(msg=f"unknown collector version {version!r}")
        else:
            for f in self.filters.values():
                f.reported.clear()
        self.cancelled = False
        deadline = time.monotonic() + (MAX_WAIT_S if max_wait_s is None else max_wait_s)
        while True:
            call.refresh()
            updates, truncated = self._changes(call, max_updates)
            if updates:
                self.version += 1
                return PC.UpdateSet(version=str(self.version), filterSet=updates, truncated=truncated)
            if self.cancelled:
                raise vmodl.fault.RequestCanceled(msg="WaitForUpdates was cancelled")
            left = deadline - time.monotonic()
            if left <= 0 or call.api.stopping.is_set():
                return None
            call.api.stopping.wait(min(WAIT_SLICE_S, left))

    def do_WaitForUpdatesEx(self, call, version=None, options=None):
        max_wait = options.maxWaitSeconds if options is not None else None
        max_updates = options.maxObjectUpdates if options is not None else None
        if max_wait is not None and max_wait < 0:
            raise vmodl.fault.InvalidArgument(msg="maxWaitSeconds cannot be negative", invalidProperty="maxWaitSeconds")
        return self.wait(call, version, max_wait, max_updates)

    def do_WaitForUpdates(self, call, version=None):
        result = self.wait(call, version, None, None)
        if result is None:
            result = PC.UpdateSet(version=str(self.version), filterSet=[])
        return result

    def do_CheckForUpdates(self, call, version=None):
        return self.wait(call, version, 0, None)
