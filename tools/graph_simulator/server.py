"""HTTPS plumbing: a ThreadingHTTPServer wrapped in TLS from a trustme test CA."""

from __future__ import annotations

import os
import socket
import ssl
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from graph_simulator.common import Headers, Request, Response

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def system_bundle_path():
    if os.path.exists(SYSTEM_BUNDLE):
        return SYSTEM_BUNDLE
    try:
        import certifi

        return certifi.where()
    except ImportError:  # pragma: no cover
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):  # quiet: clients drop sockets on purpose
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GraphSimulator/1.0"
    sim = None  # set on the subclass built by make_server
    timeout = 120  # idle keep-alive connections release their thread
    # The headers and the body leave as two TLS records: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK of the headers, 40 ms on Linux, on every answer.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self):
        body = self._read_body()
        req = Request(self.command, self.path, Headers(list(self.headers.items())), body)
        try:
            resp = self.sim.dispatch(req)
        except Exception as exc:  # a simulator bug: answer 500 rather than hang the client
            import traceback

            traceback.print_exc()
            resp = Response(
                500,
                {"error": {"code": "InternalServerError", "message": f"simulator error: {exc}"}},
            )
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()
            return
        data, ctype = resp.encode()
        self.send_response(resp.status)
        rid = str(uuid.uuid4())
        headers = dict(resp.headers)
        headers.setdefault("request-id", rid)
        headers.setdefault("client-request-id", req.headers.get("client-request-id") or rid)
        if ctype:
            headers["Content-Type"] = ctype
        headers["Content-Length"] = str(len(data))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, OSError, TimeoutError):
            self.close_connection = True


def make_server(sim, host, port, state_dir):
    import trustme

    ca = trustme.CA(organization_name="Graph Simulator Test CA")
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    ca_path = os.path.join(state_dir, "graph_sim_ca.pem")
    bundle_path = os.path.join(state_dir, "graph_sim_ca_bundle.pem")
    ca.cert_pem.write_to_path(ca_path)
    system = system_bundle_path()
    with open(bundle_path, "wb") as out:
        if system:
            with open(system, "rb") as src:
                out.write(src.read())
            out.write(b"\n")
        out.write(ca.cert_pem.bytes())
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    handler = type("SimHandler", (Handler,), {"sim": sim})
    server = _Server((host, port), handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server, ca_path, bundle_path
