#!/usr/bin/python3
"""A small S3 fake for tests: path-style PUT/GET(Range)/HEAD/DELETE, ListObjectsV2 with
pagination, multipart upload (create, upload part, complete, abort), write-once PUT and
CompleteMultipartUpload with "If-None-Match: *" (412), and SigV4 signatures checked with
botocore's own signer (an implementation independent of ours).

Listens on 127.0.0.1 (random port unless --port) and prints "LISTENING <port>" on stdout.

Fault injection, for retry tests: POST /_fault?mode=M&count=N[&op=OP][&stall=SECONDS] makes
the next N matching requests fail. Modes: 500 (InternalError), 503 (SlowDown), drop (close
the connection without an answer, after reading the body), drop_mid (close after reading
half of the body), drop_after (carry the request out, then close without an answer), stall
(sleep, then answer normally), huge (answer 200 with a body announced as 1 TiB and sent
until the client hangs up), endless (the same, chunked, with no length announced).
&after=K lets K matching requests through first. OP: put, part, create, complete, abort,
get, head, list, delete or any (default).
POST /_etags?mode=opaque makes new ETags random, as S3 does with SSE-KMS (mode=md5 restores
the plain MD5 ETags).
POST /_expect_other_secret?ops=part,abort checks those request types against a secret the
client does not have (so each type's rejection can be shown). GET /_stats returns JSON
counters; POST /_reset clears all of that. Control paths are not signed.
"""

import argparse
import base64
import hashlib
import hmac
import io
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape, unescape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_BODY = 256 << 20


class State:
    def __init__(self, buckets, access_key, secret_key, region):
        self.lock = threading.Lock()
        self.buckets = {b: {} for b in buckets}  # bucket -> key -> (bytes, etag)
        self.uploads = {}  # upload id -> {"bucket", "key", "parts": {n: (bytes, md5)}}
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.faults = []  # [{"mode", "count", "op", "stall", "after"}]
        self.other_secret_ops = set()  # ops checked against a different secret
        self.opaque_etags = False
        self.stats = {}

    def count(self, name):
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + 1

    def take_fault(self, op):
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["op"] in ("any", op):
                    if fault["after"] > 0:
                        fault["after"] -= 1
                        continue
                    fault["count"] -= 1
                    self.stats["faults"] = self.stats.get("faults", 0) + 1
                    return dict(fault)
        return None


def error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>%s</Message></Error>" % (code, escape(message))).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeS3/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def state(self):
        return self.server.state

    # ---- plumbing -------------------------------------------------------------------
    def send(self, status, body=b"", headers=None, head_only=False):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head_only and self.command != "HEAD":
            self.wfile.write(body)

    def fail(self, status, code, message):
        self.state.count("error_%s" % code)
        self.send(status, error_xml(code, message), {"Content-Type": "application/xml"})

    def read_body(self, limit=None):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        if limit is not None:
            return self.rfile.read(min(length, limit))
        return self.rfile.read(length)

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # ---- signature ------------------------------------------------------------------
    def check_signature(self, body, op):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "AccessDenied", "missing SigV4 Authorization header"
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        scope = fields.get("Credential", "").split("/")
        if len(scope) != 5 or scope[0] != self.state.access_key:
            return "InvalidAccessKeyId", "unknown access key"
        amz_date = self.headers.get("x-amz-date", "")
        if scope[1] != amz_date[:8] or scope[2] != self.state.region or scope[3] != "s3":
            return "SignatureDoesNotMatch", "bad credential scope"
        signed = fields.get("SignedHeaders", "").split(";")
        for required in ("host", "x-amz-content-sha256", "x-amz-date"):
            if required not in signed:
                return "SignatureDoesNotMatch", "%s is not signed" % required
        payload_hash = self.headers.get("x-amz-content-sha256", "")
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
            return "XAmzContentSHA256Mismatch", "payload hash does not match the body"
        # Rebuild the request from what arrived, with exactly the signed headers, and let
        # botocore compute what the signature must be.
        headers = {}
        for name in signed:
            values = self.headers.get_all(name)
            if values is None:
                return "SignatureDoesNotMatch", "signed header %s missing" % name
            headers[name] = ",".join(values)
        url = "http://%s%s" % (self.headers.get("Host", ""), self.path)
        request = AWSRequest(method=self.command, url=url, headers=headers, data=body)
        request.context["timestamp"] = amz_date
        secret = self.state.secret_key
        if op in self.state.other_secret_ops:
            secret = "a-secret-the-client-does-not-have"
        credentials = Credentials(self.state.access_key, secret,
                                  self.headers.get("x-amz-security-token"))
        signer = S3SigV4Auth(credentials, "s3", self.state.region)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return "SignatureDoesNotMatch", "signature does not match"
        return None

    # ---- dispatch -------------------------------------------------------------------
    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def classify(self, key, query):
        method = self.command
        if key is None:
            return "list" if method == "GET" else "bucket"
        if method == "PUT":
            return "part" if "uploadId" in query else "put"
        if method == "POST":
            return "create" if "uploads" in query else "complete"
        if method == "DELETE":
            return "abort" if "uploadId" in query else "delete"
        return method.lower()

    def handle_any(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        if parsed.path.startswith("/_"):
            self.read_body()
            return self.control(parsed.path, query)
        parts = parsed.path.lstrip("/").split("/", 1)
        bucket = urllib.parse.unquote(parts[0])
        key = urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[1] else None
        op = self.classify(key, query)
        self.state.count("requests")
        self.state.count("op_" + op)
        fault = self.state.take_fault(op)
        if fault and fault["mode"] == "drop_mid":
            self.read_body(limit=int(self.headers.get("Content-Length") or 0) // 2)
            return self.drop()
        try:
            body = self.read_body()
        except ValueError:
            return self.fail(400, "EntityTooLarge", "body too large")
        if fault:
            mode = fault["mode"]
            if mode == "drop":
                return self.drop()
            if mode == "500":
                return self.fail(500, "InternalError", "injected failure")
            if mode == "503":
                return self.fail(503, "SlowDown", "Please reduce your request rate.")
            if mode == "stall":
                time.sleep(fault["stall"])
            if mode in ("huge", "endless"):
                return self.flood(chunked=(mode == "endless"))
        problem = self.check_signature(body, op)
        if problem:
            self.state.count("auth_failures")
            return self.fail(403, problem[0], problem[1])
        if bucket not in self.state.buckets:
            return self.fail(404, "NoSuchBucket", "The specified bucket does not exist")
        md5 = self.headers.get("Content-MD5")
        if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
            return self.fail(400, "BadDigest", "Content-MD5 does not match the body")
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            return self.fail(501, "NotImplemented", "not implemented by the fake")
        self.state.count("ok_" + op)
        if fault and fault["mode"] == "drop_after":
            # The request takes effect but its answer is lost.
            real_wfile, self.wfile = self.wfile, io.BytesIO()
            handler(bucket, key, query, body)
            self.wfile = real_wfile
            return self.drop()
        return handler(bucket, key, query, body)

    def control(self, path, query):
        if path == "/_stats":
            with self.state.lock:
                stats = dict(self.state.stats)
                stats["uploads_in_progress"] = len(self.state.uploads)
            return self.send(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})
        if path == "/_expect_other_secret":
            with self.state.lock:
                self.state.other_secret_ops.update(query.get("ops", "").split(","))
            return self.send(204)
        if path == "/_etags":
            with self.state.lock:
                self.state.opaque_etags = query.get("mode") == "opaque"
            return self.send(204)
        if path == "/_reset":
            with self.state.lock:
                self.state.other_secret_ops = set()
                self.state.faults = []
                self.state.opaque_etags = False
                self.state.stats = {}
            return self.send(204)
        if path == "/_fault":
            with self.state.lock:
                self.state.faults.append({
                    "mode": query.get("mode", "500"),
                    "count": int(query.get("count", "1")),
                    "op": query.get("op", "any"),
                    "stall": float(query.get("stall", "5")),
                    "after": int(query.get("after", "0")),
                })
            return self.send(204)
        return self.send(404)

    # ---- operations -----------------------------------------------------------------
    def objects(self, bucket):
        return self.state.buckets[bucket]

    def new_etag(self, etag):
        # A plain attribute read (no lock: callers may hold it).
        return '"%s"' % uuid.uuid4().hex if self.state.opaque_etags else etag

    def flood(self, chunked):
        """A 200 whose body never ends (1 TiB announced, or chunked): for response limits."""
        self.state.count("floods")
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(1 << 40))
        self.end_headers()
        block = b"x" * 65536
        try:
            for _ in range(1 << 16):  # 4 GiB at most, then give up
                self.wfile.write((b"10000\r\n" + block + b"\r\n") if chunked else block)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True

    def op_put(self, bucket, key, query, body):
        etag = self.new_etag('"%s"' % hashlib.md5(body).hexdigest())
        with self.state.lock:
            if self.headers.get("If-None-Match") == "*" and key in self.objects(bucket):
                conflict = True
            else:
                conflict = False
                self.objects(bucket)[key] = (body, etag)
        if conflict:
            return self.fail(412, "PreconditionFailed", "At least one of the pre-conditions "
                             "you specified did not hold")
        self.send(200, b"", {"ETag": etag})

    def op_get(self, bucket, key, query, body, head=False):
        with self.state.lock:
            entry = self.objects(bucket).get(key)
        if entry is None:
            if head:
                return self.send(404)
            return self.fail(404, "NoSuchKey", "The specified key does not exist.")
        data, etag = entry
        headers = {"ETag": etag, "Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and not head:
            first, _, last = rng[len("bytes="):].partition("-")
            first = int(first)
            last = min(int(last) if last else len(data) - 1, len(data) - 1)
            if first >= len(data) or first > last:
                return self.fail(416, "InvalidRange", "The requested range is not satisfiable")
            headers["Content-Range"] = "bytes %d-%d/%d" % (first, last, len(data))
            return self.send(206, data[first:last + 1], headers)
        if head:
            headers["Content-Length"] = str(len(data))
            return self.send(200, b"", headers)
        self.send(200, data, headers)

    def op_head(self, bucket, key, query, body):
        self.op_get(bucket, key, query, body, head=True)

    def op_delete(self, bucket, key, query, body):
        with self.state.lock:
            self.objects(bucket).pop(key, None)
        self.send(204)

    def op_list(self, bucket, key, query, body):
        prefix = query.get("prefix", "")
        max_keys = max(1, min(int(query.get("max-keys", "1000")), 1000))
        start = ""
        token = query.get("continuation-token")
        if token:
            start = base64.urlsafe_b64decode(token.encode()).decode()
        with self.state.lock:
            keys = sorted(k for k in self.objects(bucket) if k.startswith(prefix) and k > start)
            page = [(k, len(self.objects(bucket)[k][0])) for k in keys[:max_keys]]
        truncated = len(keys) > max_keys
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
               "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount>"
               "<MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>"
               % (bucket, escape(prefix), len(page), max_keys, "true" if truncated else "false")]
        for k, size in page:
            out.append("<Contents><Key>%s</Key><Size>%d</Size><StorageClass>STANDARD"
                       "</StorageClass></Contents>" % (escape(k), size))
        if truncated:
            out.append("<NextContinuationToken>%s</NextContinuationToken>"
                       % base64.urlsafe_b64encode(page[-1][0].encode()).decode())
        out.append("</ListBucketResult>")
        self.send(200, "".join(out).encode(), {"Content-Type": "application/xml"})

    def op_create(self, bucket, key, query, body):
        upload_id = uuid.uuid4().hex
        with self.state.lock:
            self.state.uploads[upload_id] = {"bucket": bucket, "key": key, "parts": {}}
        self.send(200, ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult>"
                        "<Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId>"
                        "</InitiateMultipartUploadResult>" % (bucket, escape(key), upload_id)
                        ).encode(), {"Content-Type": "application/xml"})

    def upload(self, bucket, key, query):
        upload = self.state.uploads.get(query.get("uploadId", ""))
        if upload is None or upload["bucket"] != bucket or upload["key"] != key:
            return None
        return upload

    def op_part(self, bucket, key, query, body):
        number = int(query.get("partNumber", "0"))
        with self.state.lock:
            upload = self.upload(bucket, key, query)
            if upload is not None:
                upload["parts"][number] = (body, hashlib.md5(body).digest())
        if upload is None:
            return self.fail(404, "NoSuchUpload", "The specified upload does not exist.")
        self.send(200, b"", {"ETag": '"%s"' % hashlib.md5(body).hexdigest()})

    def op_complete(self, bucket, key, query, body):
        numbers = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
        etags = [unescape(e.decode(), {"&quot;": '"', "&apos;": "'"}).strip('"')
                 for e in re.findall(rb"<ETag>([^<]*)</ETag>", body)]
        with self.state.lock:
            upload = self.upload(bucket, key, query)
            if upload is None:
                problem = (404, "NoSuchUpload", "The specified upload does not exist.")
            elif not numbers or numbers != sorted(numbers) or len(numbers) != len(etags):
                problem = (400, "InvalidPartOrder", "bad part list")
            elif any(n not in upload["parts"] or upload["parts"][n][1].hex() != e
                     for n, e in zip(numbers, etags)):
                problem = (400, "InvalidPart", "a part is missing or its ETag differs")
            elif self.headers.get("If-None-Match") == "*" and key in self.objects(bucket):
                problem = (412, "PreconditionFailed", "At least one of the pre-conditions "
                           "you specified did not hold")
            else:
                problem = None
                data = b"".join(upload["parts"][n][0] for n in numbers)
                digest = hashlib.md5(b"".join(upload["parts"][n][1] for n in numbers))
                etag = self.new_etag('"%s-%d"' % (digest.hexdigest(), len(numbers)))
                self.objects(bucket)[key] = (data, etag)
                del self.state.uploads[query["uploadId"]]
        if problem:
            return self.fail(*problem)
        self.send(200, ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult>"
                        "<Bucket>%s</Bucket><Key>%s</Key><ETag>%s</ETag>"
                        "</CompleteMultipartUploadResult>" % (bucket, escape(key), escape(etag))
                        ).encode(), {"Content-Type": "application/xml"})

    def op_abort(self, bucket, key, query, body):
        with self.state.lock:
            upload = self.upload(bucket, key, query)
            if upload is not None:
                del self.state.uploads[query["uploadId"]]
        if upload is None:
            return self.fail(404, "NoSuchUpload", "The specified upload does not exist.")
        self.send(204)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", action="append", default=[])
    parser.add_argument("--access-key", default="FAKEACCESSKEY")
    parser.add_argument("--secret-key-file",
                        help="file holding the secret key (default: the fixed test secret)")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    secret = "fake-secret-key"
    if args.secret_key_file:
        with open(args.secret_key_file) as f:
            secret = f.read().strip()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args.bucket or ["testbucket"], args.access_key, secret, args.region)
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
