"""HTTPS for the API: POST /sdk carries SOAP calls, GET /sdk/vimServiceVersions.xml tells
clients which API versions are spoken. One thread per connection, a bounded number of
connections, bounded request bodies; the session is the vmware_soap_session cookie.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import traceback
import xml.etree.ElementTree as ET
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pyVmomi import VmomiSupport, vmodl

from memtui.vsphere import soap
from memtui.vsphere.api import Api, Call

COOKIE_NAME = "vmware_soap_session"
MAX_BODY_BYTES = 2 * 1024 * 1024  # far above any call this host serves
MAX_DISCARD_BYTES = 64 * 1024 * 1024  # an over-long body is read and dropped up to this size
MAX_CONNECTIONS = 256
IDLE_TIMEOUT_S = 120  # a connection with no request for this long is closed
HANDSHAKE_TIMEOUT_S = 10
SDK_PATHS = ("/sdk", "/sdk/")


def versions_document() -> bytes:
    """vimServiceVersions.xml: the vim25 versions this endpoint speaks (all that pyVmomi knows)."""
    versions = [VmomiSupport.versionIdMap[v] for v in VmomiSupport.GetServiceVersions("vim25")]
    root = ET.Element("namespaces", version="1.0")
    ns = ET.SubElement(root, "namespace")
    ET.SubElement(ns, "name").text = soap.NS_VIM25
    ET.SubElement(ns, "version").text = versions[0]
    prior = ET.SubElement(ns, "priorVersions")
    for v in versions[1:]:
        ET.SubElement(prior, "version").text = v
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def request_version(soap_action: str | None, default: str) -> str:
    """The API version a client speaks, from its SOAPAction ("urn:vim25/8.0.3.0")."""
    if soap_action:
        uri = soap_action.strip().strip('"')
        try:
            return VmomiSupport.GetVersionFromVersionUri(uri)
        except KeyError:
            pass
    return default


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a reply goes out as soon as it is written
    server_version = "memtui-hostd"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    server: ApiServer

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if self.server.verbose:
            sys.stderr.write(f"memtui serve: {self.address_string()} {format % args}\n")

    # ------------------------------------------------------------------ replies

    def _reply(self, status: int, body: bytes, content_type: str = "text/xml; charset=utf-8",
               cookie: str | None = None, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", f'{COOKIE_NAME}="{cookie}"; Path=/; HttpOnly; Secure')
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _fault(self, fault: vmodl.MethodFault, version: str, status: int = 500, client: bool = False,
               close: bool = False) -> None:
        self._reply(status, soap.fault(fault, version, client=client), close=close)

    # ------------------------------------------------------------------ GET

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/sdk/vimServiceVersions.xml":
            self._reply(200, versions_document())
        else:
            self._reply(404, f"memtui serves the vSphere API at /sdk, not at {path}\n".encode(),
                        content_type="text/plain; charset=utf-8")

    # ------------------------------------------------------------------ POST

    def _session_key(self) -> str | None:
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        try:
            jar = SimpleCookie(raw)
        except CookieError:
            return None
        morsel = jar.get(COOKIE_NAME)
        return morsel.value if morsel else None

    def _too_big(self, size: str, version: str) -> None:
        self._fault(vmodl.fault.InvalidRequest(
            msg=f"the request body is {size} bytes; this host takes at most {MAX_BODY_BYTES}"),
            version, status=413, client=True, close=True)

    def _read_chunked(self, version: str) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._fault(vmodl.fault.InvalidRequest(msg="malformed chunked request body"),
                            version, status=400, client=True, close=True)
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                if total > MAX_BODY_BYTES:
                    self._too_big(str(total), version)
                    return None
                return b"".join(parts)
            total += size
            if total > MAX_DISCARD_BYTES:
                self._too_big(f"over {MAX_DISCARD_BYTES}", version)
                return None
            chunk = self.rfile.read(size)
            self.rfile.readline(1024)
            if len(chunk) < size:
                self.close_connection = True
                return None
            if total <= MAX_BODY_BYTES:
                parts.append(chunk)
            else:
                parts.clear()  # over the limit: read on to the end, then refuse

    def _read_body(self, version: str) -> bytes | None:
        encoding = self.headers.get("Transfer-Encoding", "").lower()
        if encoding == "chunked":
            return self._read_chunked(version)
        if encoding not in ("", "identity"):
            self._fault(vmodl.fault.InvalidRequest(msg=f"transfer encoding {encoding!r} is not supported"),
                        version, status=501, client=True, close=True)
            return None
        length_text = self.headers.get("Content-Length")
        try:
            length = int(length_text) if length_text is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self._fault(vmodl.fault.InvalidRequest(msg="the request has no valid Content-Length"),
                        version, status=411, client=True, close=True)
            return None
        if length > MAX_BODY_BYTES:
            if length <= MAX_DISCARD_BYTES:
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(left, 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
            self._too_big(str(length), version)
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def do_POST(self):
        api = self.server.api
        version = request_version(self.headers.get("SOAPAction"), api.version)
        if self.path.split("?", 1)[0] not in SDK_PATHS:
            self._reply(404, f"memtui serves the vSphere API at /sdk, not at {self.path}\n".encode(),
                        content_type="text/plain; charset=utf-8")
            return
        body = self._read_body(version)
        if body is None:
            return
        try:
            request = soap.parse_request(body, version)
        except soap.RequestError as exc:
            self._fault(exc.fault, version, client=exc.client)
            return
        session = api.session_for(self._session_key())
        call = Call(api, session, version)
        call.client_ip = self.client_address[0]
        call.user_agent = self.headers.get("User-Agent", "")
        call.new_cookie = None
        try:
            result_info, value = api.dispatch(request, call)
            out = soap.response(request.wsdl_name, result_info, value, version)
        except vmodl.MethodFault as fault:
            if isinstance(fault, vmodl.fault.MethodNotFound) and fault.receiver is None:
                fault.receiver = request.this
            self._fault(fault, version)
            return
        except Exception as exc:  # a defect: answer with a fault, keep serving, say so on stderr
            sys.stderr.write(f"memtui serve: internal error in {request.wsdl_name}: {exc!r}\n")
            if self.server.verbose:
                traceback.print_exc()
            self._fault(vmodl.fault.SystemError(msg=f"internal error in {request.wsdl_name}: {exc}",
                                                reason=str(exc)), version)
            return
        self._reply(200, out, cookie=call.new_cookie)


class ApiServer(ThreadingHTTPServer):
    """The HTTPS server; `ssl_context` None serves plain HTTP (tests of the wire format)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], api: Api, ssl_context: ssl.SSLContext | None,
                 verbose: bool = False, max_connections: int = MAX_CONNECTIONS):
        self.api = api
        self.ssl_context = ssl_context
        self.verbose = verbose
        self._slots = threading.BoundedSemaphore(max_connections)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        api.port = self.server_address[1]

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # over the connection limit: refuse at once
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            request.settimeout(IDLE_TIMEOUT_S)
            self.RequestHandlerClass(request, client_address, self)
            return
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            tls.settimeout(IDLE_TIMEOUT_S)
            self.RequestHandlerClass(tls, client_address, self)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx
