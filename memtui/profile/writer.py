"""Saving profiles: atomically, and by editing the document the profile was read from in place,
so that the user's comments, layout and key order survive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import stat
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, InlineTable, Table, Whitespace

from memtui.config import Event, Profile, VMConfig, Workload, format_duration, parse_duration
from memtui.profile.checker import Checker, _is_number, _mb
from memtui.profile.problems import ProfileError, ProfileProblem, ProfileSaveError
from memtui.profile.reader import check_text
from memtui.profile.schema import FORMAT, HOST_KEYS

_DURATION_KEYS = frozenset({"at", "boot_s"})

# --------------------------------------------------------------------------------------------
# Writing


def profile_to_document(profile: Profile) -> tomlkit.TOMLDocument:
    """A fresh document for a profile: format and every host key, then only what differs from
    the defaults (plus each VM's name and memory_mb)."""
    doc = tomlkit.document()
    doc["format"] = profile.format
    host = tomlkit.table()
    for key in HOST_KEYS:
        if getattr(profile.host, key) is not None:
            host[key] = _toml_value(key, getattr(profile.host, key))
    doc["host"] = host
    update_document(doc, profile)
    return doc


def dumps_profile(profile: Profile) -> str:
    """The profile as TOML text; with its document's comments and layout when it has one."""
    if isinstance(profile.document, tomlkit.TOMLDocument):
        update_document(profile.document, profile)
        return profile.document.as_string()
    return profile_to_document(profile).as_string()


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> None:
    """Write the profile to `path` atomically: a temporary file beside it, flushed to disk, then
    renamed over it.

    The text is checked first: a profile that loading would refuse raises ProfileError (its
    problems carry no line, since the text was never written) and nothing is written. When the
    file system fails, ProfileSaveError (an OSError) says why; either way the old file is
    untouched and no temporary file is left. Afterwards the profile keeps `path` and the
    document it was saved from, so that later saves change only what changed.
    """
    name = os.fspath(path)
    try:
        text = dumps_profile(profile)
    except (TypeError, ValueError) as exc:
        raise ProfileError([ProfileProblem(name, None, "", f"cannot be written: {exc}")]) from exc
    try:
        check_text(text, name)
    except ProfileError as exc:
        raise ProfileError([replace(p, line=None) for p in exc.problems]) from None
    if not isinstance(profile.document, tomlkit.TOMLDocument):
        profile.document = tomlkit.parse(text)
    target = Path(os.path.realpath(name))
    tmp: str | None = None
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
        with tempfile.NamedTemporaryFile(
            "wb", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as f:
            tmp = f.name
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        _fsync_directory(target.parent)
    except OSError as exc:
        error = ProfileSaveError(f"cannot save {name}: {exc.strerror or exc}")
        error.errno = exc.errno
        raise error from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    profile.path = name


def _new_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- updating a document in place ------------------------------------------------------------

_REQUIRED: Any = object()  # "no default": the key is always written


def update_document(doc: tomlkit.TOMLDocument, profile: Profile) -> None:
    """Make `doc` describe `profile`, changing only what differs, so that comments, layout and
    key order survive. Keys that are absent and would hold their default are not added."""
    _put(doc, "format", profile.format, FORMAT)
    host = doc.get("host")
    if not isinstance(host, dict):
        host = tomlkit.table()
        doc["host"] = host
    _put_fields(host, profile.host)
    _put_advanced(doc, profile.advanced)
    _put_vms(doc, profile.vms)
    _put_events(doc, profile.events)


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _normal(key: str, value: Any) -> Any:
    """A document value in the form the dataclasses use, for comparing."""
    value = _plain(value)
    try:
        if key in _DURATION_KEYS:
            return parse_duration(value)
        if key == "limit_mb" and isinstance(value, str) and value.lower() == "unlimited":
            return None
        if key == "schedule" and isinstance(value, list):
            return [(parse_duration(at), mb) for at, mb in value]
        if key == "start_time" and isinstance(value, str):
            return datetime.fromisoformat(value.strip())
    except (ValueError, TypeError):
        pass
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal as profile values (4096 == 4096.0; a list equals a tuple with the same items)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _toml_value(key: str, value: Any, old: Any = None) -> Any:
    """A profile value as the document writes it."""
    if key in _DURATION_KEYS:
        old = _plain(old)
        if isinstance(old, int) and not isinstance(old, bool):
            return int(value)
        return format_duration(value)
    if key == "limit_mb" and value is None:
        return "unlimited"
    if key == "schedule":
        steps = tomlkit.array()
        for at, mb in value:
            steps.append([format_duration(at), _mb(mb)])
        return steps
    if _is_number(value):
        return _mb(value)
    return value


def _representable(key: str, value: Any) -> bool:
    return value is not None or key == "limit_mb"


def _add(container: Any, key: str, value: Any) -> None:
    """Add a key after the last key/value pair of a table, ahead of the comments and blank lines
    that lead into the next table. tomlkit's own append would put it after them, and it has no
    public way to insert, hence its Container._insert_at."""
    body_owner = container.value if isinstance(container, Table) else container
    if isinstance(container, InlineTable) or not isinstance(body_owner, Container):
        container[key] = value
        return
    body = body_owner.body
    last = None
    for i, (k, v) in enumerate(body):
        if k is not None and (not isinstance(v, Table | AoT) or k.is_dotted()):
            last = i
    if last is None or last == len(body) - 1:
        container[key] = value
    else:
        body_owner._insert_at(last + 1, key, value)


def _put(container: Any, key: str, value: Any, default: Any) -> None:
    """Make container[key] hold `value`, touching the document only where it differs."""
    if key in container:
        old = container[key]
        if not _representable(key, value):
            del container[key]
        elif not _same(_normal(key, old), value):
            container[key] = _toml_value(key, value, old)
    elif _representable(key, value) and (default is _REQUIRED or not _same(value, default)):
        _add(container, key, _toml_value(key, value))


def _defaults(cls: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = _REQUIRED
    return out


def _put_fields(container: Any, obj: Any, skip: tuple[str, ...] = ()) -> None:
    for key, default in _defaults(type(obj)).items():
        if key not in skip:
            _put(container, key, getattr(obj, key), default)


def _locations(container: Any, dotted: bool, prefix: str = "") -> dict[str, tuple[Any, str]]:
    """Where each entry of a table lives; with `dotted`, `Mem.IdleTax = 1` counts as the name
    "Mem.IdleTax" (advanced settings)."""
    out: dict[str, tuple[Any, str]] = {}
    for key in list(container.keys()):
        value = container[key]
        if dotted and isinstance(value, dict):
            out.update(_locations(value, True, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = (container, key)
    return out


def _prune_empty(container: Any) -> None:
    for key in list(container.keys()):
        value = container[key]
        if isinstance(value, dict):
            _prune_empty(value)
            if not value:
                del container[key]


def _put_mapping(
    parent: Any, key: str, mapping: dict[str, Any], *, dotted: bool, keep_empty: bool = False
) -> None:
    """Make parent[key] a table holding exactly `mapping` (advanced settings, an event's set
    or workload). Inline tables are rebuilt when keys come or go, to keep their layout tidy."""
    existing = parent.get(key)
    if not isinstance(existing, dict):
        if existing is not None:
            del parent[key]
        if mapping:
            _add(parent, key, _inline(mapping, {}))
        return
    if not mapping and not keep_empty:
        del parent[key]
        return
    where = _locations(existing, dotted)
    if isinstance(existing, InlineTable) and where.keys() != mapping.keys():
        parent[key] = _inline(mapping, where)
        return
    removed = False
    for name, (container, k) in where.items():
        if name not in mapping:
            del container[k]
            removed = True
    for name, value in mapping.items():
        if name in where:
            container, k = where[name]
            if not _same(_normal(name, container[k]), value):
                container[k] = _toml_value(name, value, container[k])
        else:
            _add(existing, name, _toml_value(name, value))
    if removed and dotted:
        _prune_empty(existing)


def _inline(mapping: dict[str, Any], where: dict[str, tuple[Any, str]]) -> InlineTable:
    """An inline table of `mapping`, reusing the document's items for unchanged values."""
    fresh = tomlkit.inline_table()
    for name, value in mapping.items():
        if name in where and _same(_normal(name, _get(where[name])), value):
            fresh[name] = _get(where[name])
        else:
            fresh[name] = _toml_value(name, value)
    return fresh


def _get(location: tuple[Any, str]) -> Any:
    container, key = location
    return container[key]


def _put_advanced(doc: tomlkit.TOMLDocument, advanced: dict[str, int]) -> None:
    """[advanced] keeps its table even when emptied (its comments may matter); a new one goes
    right after [host]."""
    if "advanced" in doc or not advanced:
        _put_mapping(doc, "advanced", advanced, dotted=True, keep_empty=True)
        return
    table = tomlkit.table()
    for name, value in advanced.items():
        table[name] = value
    table.add(tomlkit.nl())
    if "host" in doc:
        if not doc["host"].as_string().endswith("\n\n"):
            table.trivia.indent = "\n"
        at = max(i for i, (k, _) in enumerate(doc.body) if k is not None and k.key == "host") + 1
        if at < len(doc.body):
            doc._insert_at(at, "advanced", table)  # see _add: tomlkit has no public insert
        else:
            doc["advanced"] = table
    else:
        doc["advanced"] = table


def _put_workload(vm_table: Any, workload: Workload) -> None:
    existing = vm_table.get("workload")
    if isinstance(existing, InlineTable):
        values = {}
        for key, default in _defaults(Workload).items():
            value = getattr(workload, key)
            if _representable(key, value) and (key in existing or not _same(value, default)):
                values[key] = value
        _put_mapping(vm_table, "workload", values, dotted=False)
    elif isinstance(existing, Table):
        _put_fields(existing, workload)
    elif workload != Workload():
        fresh = _new_table(isinstance(vm_table, InlineTable))
        _put_fields(fresh, workload)
        vm_table["workload"] = fresh


def _new_table(inline: bool) -> Any:
    return tomlkit.inline_table() if inline else tomlkit.table()


def _put_vms(doc: tomlkit.TOMLDocument, vms: list[VMConfig]) -> None:
    """Match VMs to the document's tables by name, a renamed VM by position; update those in
    place, append new VMs, drop deleted ones, and follow the profile's order."""
    current = doc.get("vm")
    tables = list(current) if isinstance(current, list) else []
    inline = current is not None and not isinstance(current, AoT)
    doc_names = [_plain(t.get("name")) if isinstance(t, dict) else None for t in tables]
    wanted = {vm.name for vm in vms}
    used: set[int] = set()
    matches: list[int | None] = []
    for vm in vms:
        j = next((j for j, n in enumerate(doc_names) if n == vm.name and j not in used), None)
        if j is not None:
            used.add(j)
        matches.append(j)
    for i, _vm in enumerate(vms):
        if matches[i] is None and i < len(tables) and i not in used and doc_names[i] not in wanted:
            matches[i] = i
            used.add(i)
    final = []
    for vm, j in zip(vms, matches, strict=True):
        table = tables[j] if j is not None else _new_table(inline)
        _put_fields(table, vm, skip=("workload",))
        _put_workload(table, vm.workload)
        final.append(table)
    _set_array(doc, "vm", current, final, inline)


def _event_of(table: Any) -> Event | None:
    """What a document's [[event]] table says, for matching it to the profile's events."""
    if not isinstance(table, dict):
        return None
    return Checker("").event(("event", 0), _plain(table), None, None)


def _likeness(old: Event | None, new: Event) -> int:
    """How much a document's event resembles one of the profile's; 0 means unrelated."""
    if old is None:
        return 0
    if old == new:
        return 100
    score = (4 if old.at_s == new.at_s else 0) + (2 if old.vm == new.vm else 0)
    if score:
        score += (old.set.keys() == new.set.keys()) + (old.workload.keys() == new.workload.keys())
    return score


def _put_events(doc: tomlkit.TOMLDocument, events: list[Event]) -> None:
    """Pair the profile's events with the document's tables (equal ones first, then the most
    alike: same time, same VM, same keys), update those in place, add and drop the others,
    and keep the file's order wherever it sorts to the same timeline."""
    current = doc.get("event")
    tables = list(current) if isinstance(current, list) else []
    inline = current is not None and not isinstance(current, AoT)
    existing = [_event_of(t) for t in tables]
    order = sorted(range(len(tables)), key=lambda i: existing[i].at_s if existing[i] else math.inf)
    candidates = sorted(
        (-_likeness(existing[j], event), k, rank, j)
        for k, event in enumerate(events)
        for rank, j in enumerate(order)
        if _likeness(existing[j], event)
    )
    used: set[int] = set()
    pairs: list[int | None] = [None] * len(events)
    for _, k, _, j in candidates:
        if pairs[k] is None and j not in used:
            pairs[k] = j
            used.add(j)
    by_event = []
    for event, j in zip(events, pairs, strict=True):
        table = tables[j] if j is not None else _new_table(inline)
        _put(table, "at", event.at_s, _REQUIRED)
        _put(table, "vm", event.vm, None)
        _put_mapping(table, "set", event.set, dotted=event.vm is None)
        _put_mapping(table, "workload", event.workload, dotted=False)
        by_event.append(table)
    kept = [t for j, t in enumerate(tables) if j in used]
    if _same_tables(kept, [t for t in by_event if any(t is k for k in kept)]):
        final = by_event  # the file is in time order: new events go where they belong
    else:
        at_of = {id(t): e.at_s for t, e in zip(by_event, events, strict=True)}
        physical = kept + [t for t in by_event if all(t is not k for k in kept)]
        resorted = sorted(physical, key=lambda t: at_of[id(t)])
        final = physical if _same_tables(resorted, by_event) else by_event
    _set_array(doc, "event", current, final, inline)


def _same_tables(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _set_array(
    doc: tomlkit.TOMLDocument, key: str, current: Any, final: list[Any], inline: bool
) -> None:
    """Make doc[key] hold exactly the tables `final`, in order, reusing the existing array:
    removing and appending where that is enough (comments inside an inline array survive),
    refilling it when the order changed."""
    if not final:
        if current is not None:
            del doc[key]
        return
    if current is None:
        array = tomlkit.aot()
        for table in final:
            array.append(table)
        doc[key] = array
        return
    old = list(current)
    if _same_tables(final, old):
        return
    kept = [t for t in final if any(t is o for o in old)]
    kept_in_file_order = [o for o in old if any(o is k for k in kept)]
    if _same_tables(final[: len(kept)], kept_in_file_order):
        for i in reversed(range(len(old))):
            if all(old[i] is not k for k in kept):
                del current[i]
        for table in final[len(kept) :]:
            current.append(table)
    else:
        del current[:]
        for table in final:
            current.append(table)
    if not inline:
        _space_new_tables(doc, current, final, old)


def _space_new_tables(doc: Any, array: AoT, final: list[Any], old: list[Any]) -> None:
    """Blank lines around tables added to a parsed array of tables."""

    def is_new(t: Any) -> bool:
        return all(t is not o for o in old)

    for i, table in enumerate(final):
        if i and (is_new(table) or is_new(final[i - 1])):
            if not final[i - 1].as_string().endswith("\n\n") and "\n" not in table.trivia.indent:
                table.trivia.indent = "\n" + table.trivia.indent
    if not is_new(final[-1]):
        return
    body = doc.body
    at = next((i for i, (_, v) in enumerate(body) if v is array), None)
    if at is None:
        return
    for _, item in body[at + 1 :]:
        if isinstance(item, Whitespace):
            return
        following = item[0] if isinstance(item, AoT) and len(item) else item
        if isinstance(following, Table) and "\n" not in following.trivia.indent:
            following.trivia.indent = "\n" + following.trivia.indent
        return
