"""A small real HTTP server on loopback that answers like a hostile vendor: slow drips, huge
bodies, redirects elsewhere. Tests of the transport's limits talk to it over real sockets."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict = {}

    def log_message(self, *args) -> None:  # keep test output quiet
        return

    def _answer(self) -> None:
        route = self.server.routes.get(self.path.split("?")[0])
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        route(self)

    do_GET = _answer
    do_POST = _answer


def json_answer(body, status: int = 200):
    def route(handler: HostileHandler) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return route


def slow_drip(seconds: float, interval: float = 0.2):
    """A JSON body sent a byte at a time, each within the read timeout, for `seconds` in all."""

    def route(handler: HostileHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        end = time.monotonic() + seconds
        try:
            handler.wfile.write(b"1\r\n{\r\n")
            handler.wfile.flush()
            while time.monotonic() < end:
                time.sleep(interval)
                handler.wfile.write(b"1\r\n \r\n")
                handler.wfile.flush()
            handler.wfile.write(b"1\r\n}\r\n0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: what the test wants

    return route


def huge_body(size: int, *, declare_length: bool):
    """`size` bytes of a JSON string, with or without a Content-Length saying so up front."""

    def route(handler: HostileHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        piece = b"x" * 65536
        try:
            if declare_length:
                handler.send_header("Content-Length", str(size))
                handler.end_headers()
                sent = 0
                while sent < size:
                    handler.wfile.write(piece[: size - sent])
                    sent += len(piece)
            else:
                handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                sent = 0
                while sent < size:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    sent += len(piece)
                handler.wfile.write(b"0\r\n\r\n")
            handler.server.bytes_sent = sent
        except (BrokenPipeError, ConnectionResetError):
            pass

    return route


def redirect_to(location: str, status: int = 302):
    def route(handler: HostileHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


class HostileServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
        self.httpd.routes = {}
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, path: str, handler) -> None:
        self.httpd.routes[path] = handler

    def __enter__(self) -> "HostileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
