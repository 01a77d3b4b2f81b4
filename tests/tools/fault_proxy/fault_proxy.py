#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for tests, placed between a client and a real S3 server.

Every request is forwarded byte-exact (request line, headers including Host, body) to the
upstream given by --upstream, so SigV4 signatures stay valid, and the upstream's response is
streamed back unchanged. Listens on 127.0.0.1, port 0 unless --port, and prints
"LISTENING <port>" on stdout once ready.

Control endpoints (answered by the proxy, never forwarded):
  POST /_fault?kind=500|503|stall|drop&count=N[&seconds=S]
      queue a fault for the next N PUT/POST requests:
        500   answer 500 InternalError (S3 error XML) without forwarding
        503   answer 503 SlowDown (S3 error XML) without forwarding
        stall wait S seconds (default 2), then forward
        drop  read part of the body, then close the socket without answering
  POST /_reset    clear queued faults
  GET  /_stats    JSON counters: requests, forwarded, faults, and one per kind applied

With --tls-cert and --tls-key it serves HTTPS (the upstream stays plain HTTP): a TLS front
for tests of certificate checks against a private CA.

Python standard library only; one thread per client connection.
"""

import argparse
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse


def error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>%s</Message></Error>" % (code, message)).encode()


class State:
    def __init__(self, upstream):
        self.upstream = upstream  # (host, port)
        self.lock = threading.Lock()
        self.faults = []  # each {"kind", "count", "seconds"}, applied in order
        self.stats = {"requests": 0, "forwarded": 0, "faults": 0}

    def bump(self, name):
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + 1

    def take_fault(self, method):
        if method not in ("PUT", "POST"):
            return None
        with self.lock:
            while self.faults and self.faults[0]["count"] <= 0:
                self.faults.pop(0)
            if not self.faults:
                return None
            fault = self.faults[0]
            fault["count"] -= 1
            self.stats["faults"] += 1
            name = "fault_" + fault["kind"]
            self.stats[name] = self.stats.get(name, 0) + 1
            return dict(fault)


class ClosedError(Exception):
    pass


def read_head(rfile):
    """Reads a request or status line plus headers; returns (raw bytes, first line, headers)."""
    first = rfile.readline(65537)
    if not first:
        raise ClosedError()
    raw = [first]
    headers = []
    while True:
        line = rfile.readline(65537)
        if not line:
            raise ClosedError()
        raw.append(line)
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return b"".join(raw), first.decode("latin-1").rstrip("\r\n"), headers


def header(headers, name):
    for key, value in headers:
        if key == name:
            return value
    return None


def copy_exact(rfile, n, sink):
    while n > 0:
        chunk = rfile.read(min(n, 65536))
        if not chunk:
            raise ClosedError()
        sink(chunk)
        n -= len(chunk)


def copy_chunked(rfile, sink):
    """Copies a chunked body, framing included, through sink."""
    while True:
        line = rfile.readline(65537)
        if not line:
            raise ClosedError()
        sink(line)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers up to the empty line
                trailer = rfile.readline(65537)
                if not trailer:
                    raise ClosedError()
                sink(trailer)
                if trailer in (b"\r\n", b"\n"):
                    return
        copy_exact(rfile, size + 2, sink)


def read_body(rfile, headers):
    parts = []
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        copy_chunked(rfile, parts.append)
    else:
        copy_exact(rfile, int(header(headers, "content-length") or "0"), parts.append)
    return b"".join(parts)


class Handler(socketserver.StreamRequestHandler):
    @property
    def state(self):
        return self.server.state

    def handle(self):
        try:
            while self.handle_one():
                pass
        except (ClosedError, ConnectionError, socket.timeout, OSError):
            pass

    def answer(self, status, reason, body, content_type="application/xml"):
        self.wfile.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                          "\r\n" % (status, reason, content_type, len(body))).encode() + body)
        self.wfile.flush()

    def handle_one(self):
        raw_head, line, headers = read_head(self.rfile)
        method, target = line.split(" ")[0], line.split(" ")[1]
        url = urllib.parse.urlsplit(target)
        if url.path in ("/_fault", "/_reset", "/_stats"):
            read_body(self.rfile, headers)
            return self.control(method, url)
        self.state.bump("requests")
        fault = self.state.take_fault(method)
        if fault is not None and fault["kind"] == "drop":
            # Part of the body arrives, then the connection is gone without an answer.
            length = int(header(headers, "content-length") or "0")
            self.rfile.read(max(0, min(length // 2, 65536)))
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        body = read_body(self.rfile, headers)
        if fault is not None and fault["kind"] == "500":
            self.answer(500, "Internal Server Error",
                        error_xml("InternalError", "We encountered an internal error. "
                                  "Please try again."))
            return True
        if fault is not None and fault["kind"] == "503":
            self.answer(503, "Slow Down",
                        error_xml("SlowDown", "Please reduce your request rate."))
            return True
        if fault is not None and fault["kind"] == "stall":
            time.sleep(fault["seconds"])
        return self.forward(method, raw_head, body, headers)

    def forward(self, method, raw_head, body, request_headers):
        self.state.bump("forwarded")
        upstream = socket.create_connection(self.state.upstream, timeout=120)
        try:
            upstream.sendall(raw_head + body)
            rfile = upstream.makefile("rb")
            while True:
                raw, line, headers = read_head(rfile)
                status = int(line.split(" ")[1])
                self.wfile.write(raw)
                if status >= 200 or status == 101:
                    break  # an interim 1xx is passed on and followed by the real answer
            if method == "HEAD" or status in (204, 304):
                self.wfile.flush()
            elif (header(headers, "transfer-encoding") or "").lower() == "chunked":
                copy_chunked(rfile, self.wfile.write)
            elif header(headers, "content-length") is not None:
                copy_exact(rfile, int(header(headers, "content-length")), self.wfile.write)
            else:
                while True:  # body delimited by the upstream closing
                    chunk = rfile.read1(65536)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                self.wfile.flush()
                return False
            self.wfile.flush()
        finally:
            upstream.close()
        closing = (header(request_headers, "connection") or "").lower() == "close"
        return not closing and (header(headers, "connection") or "").lower() != "close"

    def control(self, method, url):
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/_stats" and method == "GET":
            with self.state.lock:
                body = json.dumps(self.state.stats, sort_keys=True).encode()
            self.answer(200, "OK", body, "application/json")
            return True
        if url.path == "/_reset" and method == "POST":
            with self.state.lock:
                self.state.faults.clear()
            self.answer(204, "No Content", b"")
            return True
        if url.path == "/_fault" and method == "POST":
            kind = query.get("kind", "")
            try:
                count = int(query.get("count", "1"))
                seconds = float(query.get("seconds", "2"))
            except ValueError:
                count = -1
                seconds = 0
            if kind not in ("500", "503", "stall", "drop") or count < 1 or seconds < 0:
                self.answer(400, "Bad Request",
                            b"want kind=500|503|stall|drop, count>=1, seconds>=0\n",
                            "text/plain")
                return True
            with self.state.lock:
                self.state.faults.append({"kind": kind, "count": count, "seconds": seconds})
            self.answer(204, "No Content", b"")
            return True
        self.answer(405, "Method Not Allowed", b"", "text/plain")
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls_context = None

    def finish_request(self, request, client_address):
        # The handshake runs on the connection's own thread; a client that refuses the
        # certificate only ends its own connection.
        if self.tls_context is not None:
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        self.RequestHandlerClass(request, client_address, self)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="http://HOST:PORT of the S3 server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS with")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("fault_proxy: --tls-cert and --tls-key go together")
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        sys.exit("fault_proxy: --upstream must look like http://127.0.0.1:PORT")
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.tls_context = context
    server.state = State((upstream.hostname, upstream.port))
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
