"""SOAP on the wire: reading vSphere API requests and writing responses and faults.

Requests are parsed with expat (no DTD, no entities) into pyVmomi's own types by pyVmomi's
deserializer, one parameter at a time, so a request means exactly what it means to the SDK
that sent it. Responses and faults are written with an XML writer for the envelope and
pyVmomi's serializer for every value inside it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import XMLGenerator

from pyVmomi import SoapAdapter, VmomiSupport, vmodl

NS_VIM25 = "urn:vim25"
NS_SOAPENV = SoapAdapter.XMLNS_SOAPENV
_SEP = SoapAdapter.NS_SEP
FETCH = "Fetch"  # the SDK's own way to read one property (pyVmomi's property accessors)


class RequestError(Exception):
    """A request that cannot be understood; `fault` is the vmodl fault to answer with."""

    def __init__(self, fault: vmodl.MethodFault, client: bool = True):
        super().__init__(fault.msg)
        self.fault = fault
        self.client = client


def invalid_request(message: str) -> RequestError:
    return RequestError(vmodl.fault.InvalidRequest(msg=message))


@dataclass
class Request:
    """One SOAP call: the method's wsdl name, its pyVmomi method info (None for Fetch), the
    managed object it is called on and its arguments by parameter name."""

    wsdl_name: str
    info: Any
    this: Any
    args: dict[str, Any] = field(default_factory=dict)


def _refuse_dtd(*_args) -> None:
    raise invalid_request("document type declarations and entities are not accepted")


class _RequestParser:
    """Expat handlers for an envelope; parameters are handed to pyVmomi's SoapDeserializer."""

    def __init__(self, version: str):
        self.version = version
        self.ns_map: dict[str | None, list[str]] = {}
        self.depth = 0
        self.seen_envelope = False
        self.in_body = False
        self.request: Request | None = None
        self.pending: tuple[str, Any, Any] | None = None  # (param name, deserializer, info)
        self.params: dict[str, Any] = {}
        self.done = False
        p = expat.ParserCreate(namespace_separator=_SEP)
        p.buffer_text = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = _refuse_dtd
        p.EntityDeclHandler = _refuse_dtd
        p.ExternalEntityRefHandler = _refuse_dtd
        self.parser = p
        SoapAdapter.SetHandlers(p, SoapAdapter.GetHandlers(self))

    # namespace bookkeeping, shared with the deserializers
    def StartNamespaceDeclHandler(self, prefix, uri):
        self.ns_map.setdefault(prefix, []).append(uri)

    def EndNamespaceDeclHandler(self, prefix):
        self.ns_map[prefix].pop()

    def CharacterDataHandler(self, data):
        if self.depth == 3 and self.request is not None and data.strip():
            raise invalid_request("unexpected text inside the method element")

    def _collect(self) -> None:
        if self.pending is None:
            return
        name, ds, info = self.pending
        self.pending = None
        self.depth -= 1  # the deserializer consumed the parameter's end tag
        value = ds.GetResult()
        if name == "_this":
            self.request.this = value
            return
        if issubclass(info.type, list):
            self.request.args.setdefault(name, info.type()).append(value)
        else:
            if name in self.request.args:
                raise invalid_request(f"parameter {name} of {self.request.wsdl_name} is given twice")
            self.request.args[name] = value

    def StartElementHandler(self, tag, attr):
        self._collect()
        ns, _, local = tag.rpartition(_SEP)
        self.depth += 1
        if self.depth == 1:
            if (ns, local) != (NS_SOAPENV, "Envelope"):
                raise invalid_request("the document is not a SOAP envelope (soapenv:Envelope)")
            self.seen_envelope = True
        elif self.depth == 2:
            self.in_body = (ns, local) == (NS_SOAPENV, "Body")
        elif self.depth == 3 and self.in_body:
            if self.request is not None:
                raise invalid_request("the SOAP body holds more than one call")
            self.request = self._method(ns, local)
        elif self.depth == 4 and self.in_body:
            self._start_param(local, tag, attr)

    def _method(self, ns: str, local: str) -> Request:
        if local == FETCH:
            self.params = {"prop": VmomiSupport.Object(name="prop", type=str, version=self.version, flags=0)}
            return Request(FETCH, None, None)
        try:
            method = VmomiSupport.GetWsdlMethod(ns or NS_VIM25, local)
        except KeyError:
            raise RequestError(vmodl.fault.MethodNotFound(
                msg=f"unknown method {local!r}", method=local), client=False) from None
        info = method.info
        self.params = {p.name: p for p in info.params}
        return Request(local, info, None)

    def _start_param(self, local: str, tag, attr) -> None:
        if local == "_this":
            info = VmomiSupport.Object(name="_this", type=VmomiSupport.ManagedObject, version=self.version, flags=0)
            result_type = VmomiSupport.ManagedObject
            if "type" not in attr:
                raise invalid_request("_this has no type attribute")
        else:
            info = self.params.get(local)
            if info is None:
                raise invalid_request(f"{self.request.wsdl_name} has no parameter {local!r}")
            result_type = info.type.Item if issubclass(info.type, list) else info.type
        ds = SoapAdapter.SoapDeserializer(version=self.version)
        ds.Deserialize(self.parser, result_type, False, self.ns_map)
        self.pending = (local, ds, info)
        ds.StartElementHandler(tag, attr)

    def EndElementHandler(self, tag):
        self._collect()
        if self.depth == 3 and self.in_body and self.request is not None:
            self.done = True
        if self.depth == 2:
            self.in_body = False
        self.depth -= 1

    def parse(self, body: bytes) -> Request:
        try:
            self.parser.Parse(body, True)
        except RequestError:
            raise
        except expat.ExpatError as exc:
            raise invalid_request(f"malformed XML: {expat.ErrorString(exc.code)} at line {exc.lineno}, "
                                  f"column {exc.offset}") from None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            detail = str(exc) or type(exc).__name__
            raise invalid_request(f"a parameter has the wrong type or form: {detail}") from None
        if not self.seen_envelope:
            raise invalid_request("empty request")
        if self.request is None:
            raise invalid_request("the SOAP body holds no call")
        req = self.request
        if req.this is None:
            raise invalid_request(f"{req.wsdl_name}: the _this argument (the managed object called) is missing")
        for name, info in self.params.items():
            if name not in req.args and not info.flags & VmomiSupport.F_OPTIONAL:
                raise invalid_request(f"{req.wsdl_name}: the required parameter {name} is missing")
        return req


def parse_request(body: bytes, version: str) -> Request:
    """The call in a SOAP request body; raises RequestError with the fault to send back."""
    return _RequestParser(version).parse(body)


# ------------------------------------------------------------------------------------------
# writing


def _ns_map() -> dict[str, str]:
    ns = dict(SoapAdapter.SOAP_NSMAP)
    ns[NS_VIM25] = ""
    return ns


class _Envelope:
    def __init__(self):
        self.out = io.StringIO()
        self.xml = XMLGenerator(self.out, encoding="utf-8", short_empty_elements=False)
        self.xml.startDocument()
        self.xml.startPrefixMapping("soapenv", NS_SOAPENV)
        self.xml.startPrefixMapping("xsd", SoapAdapter.XMLNS_XSD)
        self.xml.startPrefixMapping("xsi", SoapAdapter.XMLNS_XSI)
        self.xml.startElementNS((NS_SOAPENV, "Envelope"), None, {})
        self.xml.startElementNS((NS_SOAPENV, "Body"), None, {})

    def raw(self, fragment: str) -> None:
        """A fragment written by pyVmomi's serializer."""
        self.out.write(fragment)

    def finish(self) -> bytes:
        self.xml.endElementNS((NS_SOAPENV, "Body"), None)
        self.xml.endElementNS((NS_SOAPENV, "Envelope"), None)
        self.xml.endDocument()
        return self.out.getvalue().encode("utf-8")


def response(wsdl_name: str, result_info: Any, value: Any, version: str) -> bytes:
    """A method's response envelope; `result_info` describes the result (None: void)."""
    env = _Envelope()
    env.xml.startPrefixMapping(None, NS_VIM25)
    env.xml.startElementNS((NS_VIM25, f"{wsdl_name}Response"), None, {})
    if result_info is not None and value is not None:
        env.raw(SoapAdapter.SerializeToStr(value, result_info, version, _ns_map()))
    env.xml.endElementNS((NS_VIM25, f"{wsdl_name}Response"), None)
    env.xml.endPrefixMapping(None)
    return env.finish()


def fault(exc: vmodl.MethodFault, version: str, client: bool = False) -> bytes:
    """A soapenv:Fault whose detail is the fault as vSphere encodes it, e.g.
    <InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin">."""
    env = _Envelope()
    x = env.xml
    x.startElementNS((NS_SOAPENV, "Fault"), None, {})
    for name, text in (("faultcode", "ClientFaultCode" if client else "ServerFaultCode"),
                       ("faultstring", exc.msg or type(exc).__name__)):
        x.startElementNS((None, name), None, {})
        x.characters(text)
        x.endElementNS((None, name), None)
    x.startElementNS((None, "detail"), None, {})
    wsdl = VmomiSupport.GetWsdlName(type(exc))
    x.startPrefixMapping(None, NS_VIM25)
    x.startElementNS((NS_VIM25, f"{wsdl}Fault"), None,
                     {(SoapAdapter.XMLNS_XSI, "type"): wsdl})
    ns = _ns_map()
    for prop in type(exc)._GetPropertyList():
        if prop.name in ("msg", "dynamicType"):
            continue
        val = getattr(exc, prop.name, None)
        if val is None or (isinstance(val, list) and not val):
            continue
        env.raw(SoapAdapter.SerializeToStr(val, prop, version, ns))
    x.endElementNS((NS_VIM25, f"{wsdl}Fault"), None)
    x.endPrefixMapping(None)
    x.endElementNS((None, "detail"), None)
    x.endElementNS((NS_SOAPENV, "Fault"), None)
    return env.finish()
