"""Bad requests of every kind get a SOAP fault, and the endpoint goes on serving."""

from __future__ import annotations

import http.client
import re

import pytest
from pyVmomi import SoapAdapter, VmomiSupport, vim, vmodl

from tests.serve_helpers import PASSWORD, USER, InProcess, memtui_home, unverified_context

VERSION = VmomiSupport.GetServiceVersions("vim25")[0]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with memtui_home(tmp_path_factory.mktemp("home")):
        ep = InProcess()
        yield ep
        ep.close()


def post(endpoint, body: bytes, cookie: str | None = None, headers: dict | None = None):
    conn = http.client.HTTPSConnection("127.0.0.1", endpoint.port, context=unverified_context(), timeout=30)
    h = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f"urn:vim25/{VmomiSupport.versionIdMap[VERSION]}"}
    if cookie:
        h["Cookie"] = cookie
    h.update(headers or {})
    try:
        conn.request("POST", "/sdk", body, h)
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("Set-Cookie")
    finally:
        conn.close()


def call(name: str, this, *args) -> bytes:
    """A request serialized by pyVmomi itself, as a client sends it."""
    method = VmomiSupport.GetWsdlMethod("urn:vim25", name)
    stub = SoapAdapter.SoapStubAdapter(host="127.0.0.1", port=1, version=VERSION)
    return stub.SerializeRequest(this, method.info, args)


def fault_of(body: bytes):
    """The fault a pyVmomi client reads from a response."""
    return SoapAdapter.SoapResponseDeserializer(None).Deserialize(body, object)


def login(endpoint) -> str:
    status, body, cookie = post(endpoint, call("Login", vim.SessionManager("ha-sessionmgr"), USER, PASSWORD, None))
    assert status == 200 and cookie
    return cookie


def still_serving(endpoint) -> None:
    status, body, _ = post(endpoint, call("RetrieveServiceContent", vim.ServiceInstance("ServiceInstance")))
    assert status == 200 and b"HostAgent" in body


def test_malformed_xml(endpoint):
    status, body, _ = post(endpoint, b"<soapenv:Envelope><unclosed")
    assert status == 500 and b"<faultcode>ClientFaultCode</faultcode>" in body
    assert isinstance(fault_of(body), vmodl.fault.InvalidRequest)
    assert b"malformed XML" in body
    still_serving(endpoint)


def test_not_an_envelope_and_empty_body(endpoint):
    for raw in (b"<hello/>", b""):
        status, body, _ = post(endpoint, raw)
        assert status == 500 and isinstance(fault_of(body), vmodl.fault.InvalidRequest)
    still_serving(endpoint)


def test_entities_are_refused(endpoint):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<l>&b;</l>")
    status, body, _ = post(endpoint, bomb)
    assert status == 500 and isinstance(fault_of(body), vmodl.fault.InvalidRequest)
    assert b"document type declarations" in body
    still_serving(endpoint)


def test_unknown_method(endpoint):
    body = call("RetrieveServiceContent", vim.ServiceInstance("ServiceInstance"))
    status, out, _ = post(endpoint, body.replace(b"RetrieveServiceContent", b"MakeCoffee"))
    fault = fault_of(out)
    assert status == 500 and isinstance(fault, vmodl.fault.MethodNotFound)
    assert "MakeCoffee" in fault.msg
    still_serving(endpoint)


def test_method_on_the_wrong_object(endpoint):
    cookie = login(endpoint)
    status, out, _ = post(endpoint, call("PowerOnVM_Task", vim.VirtualMachine("ha-host"), None), cookie)
    assert isinstance(fault_of(out), vmodl.fault.ManagedObjectNotFound)
    # a real method, called on an object of a type that does not have it
    body = call("RetrieveServiceContent", vim.ServiceInstance("ServiceInstance"))
    body = body.replace(b'type="ServiceInstance">ServiceInstance', b'type="Folder">ha-folder-root')
    status, out, _ = post(endpoint, body, cookie)
    assert isinstance(fault_of(out), vmodl.fault.MethodNotFound)
    still_serving(endpoint)


def test_wrong_types(endpoint):
    cookie = login(endpoint)
    spec = vim.vm.ConfigSpec(memoryMB=2048)
    body = call("ReconfigVM_Task", vim.VirtualMachine("1"), spec).replace(b">2048<", b">lots<")
    status, out, _ = post(endpoint, body, cookie)
    fault = fault_of(out)
    assert status == 500 and isinstance(fault, vmodl.fault.InvalidRequest)
    assert "wrong type" in fault.msg
    body = call("ReconfigVM_Task", vim.VirtualMachine("1"), spec).replace(b"memoryMB>", b"memoryMiB>")
    assert isinstance(fault_of(post(endpoint, body, cookie)[1]), vmodl.fault.InvalidRequest)
    body = call("QueryPerfCounterByLevel", vim.PerformanceManager("ha-perfmgr"), 2)
    body = re.sub(rb"<level[^>]*>2</level>", b"", body)  # a required parameter left out
    fault = fault_of(post(endpoint, body, cookie)[1])
    assert isinstance(fault, vmodl.fault.InvalidRequest) and "level" in fault.msg
    still_serving(endpoint)


def test_unknown_managed_object(endpoint):
    cookie = login(endpoint)
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=vim.VirtualMachine("4242"))],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])])
    body = call("RetrievePropertiesEx", vmodl.query.PropertyCollector("ha-property-collector"), [spec],
                vmodl.query.PropertyCollector.RetrieveOptions())
    status, out, _ = post(endpoint, body, cookie)
    fault = fault_of(out)
    assert status == 500 and isinstance(fault, vmodl.fault.ManagedObjectNotFound)
    assert fault.obj._moId == "4242"
    still_serving(endpoint)


def test_no_session_is_not_authenticated(endpoint):
    body = call("CreateContainerView", vim.view.ViewManager("ViewManager"), vim.Folder("ha-folder-root"),
                [vim.VirtualMachine], True)
    for cookie in (None, 'vmware_soap_session="forged"'):
        status, out, _ = post(endpoint, body, cookie)
        assert status == 500 and isinstance(fault_of(out), vim.fault.NotAuthenticated)
    still_serving(endpoint)


def test_huge_body_is_refused(endpoint):
    body = call("RetrieveServiceContent", vim.ServiceInstance("ServiceInstance"))
    huge = body.replace(b"<soapenv:Body>", b"<soapenv:Body>" + b" " * (3 * 1024 * 1024))
    status, out, _ = post(endpoint, huge)
    assert status == 413 and isinstance(fault_of(out), vmodl.fault.InvalidRequest)
    assert b"at most" in out
    still_serving(endpoint)


def test_chunked_bodies_and_other_paths(endpoint):
    conn = http.client.HTTPSConnection("127.0.0.1", endpoint.port, context=unverified_context(), timeout=30)
    body = call("RetrieveServiceContent", vim.ServiceInstance("ServiceInstance"))
    conn.request("POST", "/sdk", body=iter([body[:100], body[100:]]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked", "Content-Type": "text/xml"})
    resp = conn.getresponse()
    assert resp.status == 200 and b"HostAgent" in resp.read()
    huge = iter([b" " * 65536] * 48)  # 3 MiB in chunks
    conn.request("POST", "/sdk", body=huge, encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    assert resp.status == 413 and isinstance(fault_of(resp.read()), vmodl.fault.InvalidRequest)
    conn.close()
    conn = http.client.HTTPSConnection("127.0.0.1", endpoint.port, context=unverified_context(), timeout=30)
    conn.request("GET", "/nowhere")
    resp = conn.getresponse()
    assert resp.status == 404 and b"/sdk" in resp.read()
    conn.request("GET", "/sdk/vimServiceVersions.xml")
    resp = conn.getresponse()
    assert resp.status == 200 and b"<name>urn:vim25</name>" in resp.read()
    conn.close()
    still_serving(endpoint)


def test_bad_tls_client_does_not_stop_the_server(endpoint):
    import socket

    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")  # plain HTTP to the TLS port
        try:
            s.recv(100)
        except OSError:
            pass
    still_serving(endpoint)
