#!/usr/bin/env python3
"""A fault-injecting HTTPS reverse proxy in front of pebble, for the CA fault
tests (tests/ca_faults.rs).

    acmeproxy.py DIR PORT UPSTREAM CERT KEY UPSTREAM_CA

It forwards every request to UPSTREAM (https://host:port) with the Host
header unchanged: pebble builds every URL it returns (directory, orders,
authorizations, Location) from the Host it was asked for, so all later
requests come back through the proxy without any rewriting.

Faults come from DIR/rules.json, read again whenever it changes (which also
resets the counts): a list of
    {"path": SUBSTRING, "action": ACTION, "times": N, "retry_after": VALUE,
     "after": SUBSTRING2}
The first rule whose SUBSTRING is in the request path, whose N (default:
unlimited, -1) is not used up and, with "after", once a request whose path
has SUBSTRING2 was seen, applies. ACTIONs:
    badNonce            400 urn:ietf:params:acme:error:badNonce, with a fresh nonce
    unavailable         503 with an HTML body (a load balancer, no problem document)
    rateLimited         429 urn:ietf:params:acme:error:rateLimited
    serverInternal      500 urn:ietf:params:acme:error:serverInternal
    processing          forward, then report the order as "processing" without
                        its certificate URL
    unknownChallenges   forward, then add challenge types no client of ours
                        uses ("dns-account-01", "foo-01") to the authorization
retry_after, when given, is sent as the Retry-After header (seconds or an
HTTP-date, as written).

Every request is appended to DIR/requests.log as "METHOD PATH ACTION" (ACTION
"-" when forwarded untouched), so a test can count what the client sent.
"""

import http.client
import http.server
import json
import os
import ssl
import sys
import threading

DIR, PORT, UPSTREAM, CERT, KEY, UPSTREAM_CA = sys.argv[1:7]
UP_HOST, UP_PORT = UPSTREAM.removeprefix("https://").rsplit(":", 1)
UP_CTX = ssl.create_default_context(cafile=UPSTREAM_CA)
LOCK = threading.Lock()
RULES = {"text": None, "rules": [], "used": [], "seen": []}

PROBLEMS = {
    "badNonce": (400, "JWS has an invalid anti-replay nonce"),
    "rateLimited": (429, "too many new orders recently"),
    "serverInternal": (500, "the CA had an internal error"),
}


def rule_for(path):
    """The rule that applies to `path` now (counting its use), or None."""
    with LOCK:
        try:
            with open(os.path.join(DIR, "rules.json")) as f:
                text = f.read()
        except FileNotFoundError:
            text = "[]"
        if text != RULES["text"]:
            RULES["text"] = text
            RULES["rules"] = json.loads(text or "[]")
            RULES["used"] = [0] * len(RULES["rules"])
            RULES["seen"] = []
        RULES["seen"].append(path)
        for i, r in enumerate(RULES["rules"]):
            times = r.get("times", -1)
            after = r.get("after")
            if after and not any(after in p for p in RULES["seen"]):
                continue
            if r["path"] in path and (times < 0 or RULES["used"][i] < times):
                RULES["used"][i] += 1
                return r
        return None


def upstream(method, path, headers, body):
    conn = http.client.HTTPSConnection(UP_HOST, int(UP_PORT), context=UP_CTX, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), data


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        rule = rule_for(self.path)
        action = rule["action"] if rule else "-"
        with LOCK, open(os.path.join(DIR, "requests.log"), "a") as log:
            log.write(f"{self.command} {self.path} {action}\n")
        extra = []
        if rule and "retry_after" in rule:
            extra.append(("Retry-After", str(rule["retry_after"])))

        if action in PROBLEMS:
            status, detail = PROBLEMS[action]
            problem = {"type": f"urn:ietf:params:acme:error:{action}", "detail": detail}
            _, nonce_headers, _ = upstream("HEAD", "/nonce-plz", {"Host": self.headers["Host"]}, None)
            extra += [(k, v) for k, v in nonce_headers if k.lower() == "replay-nonce"]
            return self.reply(status, extra, "application/problem+json", json.dumps(problem).encode())
        if action == "unavailable":
            return self.reply(503, extra, "text/html", b"<html><body>503 Service Unavailable</body></html>")

        status, up_headers, data = upstream(self.command, self.path, headers, body)
        ctype = next((v for k, v in up_headers if k.lower() == "content-type"), "")
        if action in ("processing", "unknownChallenges") and ctype.startswith("application/json"):
            obj = json.loads(data)
            if action == "processing" and "status" in obj:
                obj["status"] = "processing"
                obj.pop("certificate", None)
            if action == "unknownChallenges" and "challenges" in obj:
                base = obj["challenges"][0]["url"].rsplit("/", 1)[0]
                obj["challenges"] = [
                    {"type": "dns-account-01", "url": base + "/unused-1", "token": "dG9rZW4", "status": "pending"},
                    *obj["challenges"],
                    {"type": "foo-01", "url": base + "/unused-2", "status": "pending", "weird": [1, {"x": None}]},
                ]
            data = json.dumps(obj).encode()
        keep = [(k, v) for k, v in up_headers
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "content-type")]
        self.reply(status, keep + extra, ctype, data)

    def reply(self, status, headers, ctype, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
