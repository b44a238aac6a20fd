"""The forms that edit a VM, its workload and the advanced settings speak the profile schema:
its labels, its help, its ranges."""

from __future__ import annotations

import pytest

from memtui import spec
from memtui.config import VMConfig, Workload
from memtui.profile import schema
from memtui.ui import forms

VM = VMConfig("web01", 4096, workload=Workload(active_mb=100))


def _fields():
    yield schema.VM, forms.vm_fields(VM, False, 8)
    yield schema.WORKLOAD, forms.workload_fields(VM)


def test_every_field_is_labelled_as_the_schema_says():
    for table, fields in _fields():
        for f in fields:
            k = schema.key(table, f.key)
            assert f.label == k.label, f.key
            if f.key not in ("vcpus", "active_mb"):  # these two say the VM's own limits
                assert f.help == (k.help or k.meaning), f.key


@pytest.mark.parametrize("key", [k.name for k in schema.keys_of(schema.WORKLOAD)
                                 if k.type == schema.PERCENT and k.label])
def test_percentage_fields_take_the_schema_range(key):
    k = schema.key(schema.WORKLOAD, key)
    (f,) = [f for f in forms.workload_fields(VM) if f.key == key]
    assert f.parse(f"{k.maximum:g}") == k.maximum and f.parse(f"{k.minimum:g}") == k.minimum
    for outside in (k.maximum + 1, k.minimum - 1):
        with pytest.raises(ValueError):
            f.parse(f"{outside:g}")


def test_vcpus_field_starts_at_the_schema_minimum():
    (f,) = [f for f in forms.vm_fields(VM, False, 8) if f.key == "vcpus"]
    low = int(schema.key(schema.VM, "vcpus").minimum)
    assert f.parse(str(low)) == low and f.help == f"{low} to 8"
    with pytest.raises(ValueError):
        f.parse(str(low - 1))


@pytest.mark.parametrize("name", list(spec.ADVANCED_SETTINGS))
def test_advanced_field_takes_the_schema_range_and_default(name):
    k = schema.key(schema.ADVANCED, name)
    f = forms.advanced_field(name, k.default)
    assert f.text == str(k.default) and f"default {k.default}" in f.help and k.meaning in f.help
    assert f.parse(str(int(k.maximum))) == k.maximum
    with pytest.raises(ValueError):
        f.parse(str(int(k.maximum) + 1))
