#!/usr/bin/python3
# A registry front that wants bearer tokens, for testing token auth without a real token
# service: /token hands out a token for USER:PASS (HTTP basic), and /v2/* is proxied to the
# upstream registry only with that token; otherwise 401 with a Bearer challenge.
#
#   token-proxy.py PORT UPSTREAM_HOST:PORT USER PASS
import base64
import http.client
import http.server
import json
import secrets
import sys

PORT, UPSTREAM, USER, PASSWORD = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
TOKEN = "tok-" + secrets.token_hex(8)
FORWARD = ("content-type", "content-length", "docker-content-digest", "content-range", "accept-ranges")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/token"):
            want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.reply(401, b'{"errors":[{"message":"bad credentials"}]}')
            return self.reply(200, json.dumps({"token": TOKEN}).encode(), [("Content-Type", "application/json")])
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            repo = self.path[4:].split("/manifests/")[0].split("/blobs/")[0]
            challenge = (f'Bearer realm="http://127.0.0.1:{PORT}/token",service="berth-test",'
                         f'scope="repository:{repo}:pull"')
            return self.reply(401, b'{"errors":[{"message":"token required"}]}', [("WWW-Authenticate", challenge)])
        conn = http.client.HTTPConnection(UPSTREAM)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
        conn.request("GET", self.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        self.reply(resp.status, body, [(k, v) for k, v in resp.getheaders()
                                       if k.lower() in FORWARD and k.lower() != "content-length"])


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
