#!/usr/bin/env python3
"""A webhook receiver as a user would write one, for the tests: HTTPS on a
loopback port, checks the bearer token and the HMAC signature of wancert's
webhook deployer, and stores each accepted body.

    webhook.py PORT CERT KEY TOKEN SECRET OUTDIR

Accepted: 200 and OUTDIR/N.json. Refused: 401 and the reason as the body.
"""
import hashlib
import hmac
import http.server
import os
import ssl
import sys
import time

port, cert, key, token, secret, outdir = sys.argv[1:7]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Wancert-Timestamp", "")
        sig = self.headers.get("X-Wancert-Signature", "")
        mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
        if self.headers.get("Authorization") != f"Bearer {token}":
            return self.answer(401, "bad token")
        if not hmac.compare_digest(sig, "sha256=" + mac.hexdigest()):
            return self.answer(401, "bad signature")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return self.answer(401, "stale timestamp")
        n = len(os.listdir(outdir))
        with open(os.path.join(outdir, f"{n}.json"), "wb") as f:
            f.write(body)
        self.answer(200, "installed")

    def answer(self, status, text):
        data = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", int(port)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
