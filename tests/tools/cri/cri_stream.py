"""Exec and Attach streams as kubectl opens them: a WebSocket to the URL that the CRI's Exec or
Attach returned (containerd's streaming server, which is the kubelet's: k8s.io remotecommand).

Subprotocol v4.channel.k8s.io: every binary message starts with its channel byte — 0 stdin,
1 stdout, 2 stderr (client to server: stdin and resize; server to client: the others), 3 the
final status as a JSON metav1.Status ({"status": "Success"}, or "Failure" with reason
NonZeroExitCode and a cause {"reason": "ExitCode", "message": "N"}), 4 a terminal resize as JSON
{"Width": W, "Height": H}. The server sends an empty stdout (or stderr) message once the streams
are set up, and closes the connection after the status. SPDY, kubectl's default, is the server's
other protocol; Debian's python3-websocket speaks this one (kubectl 1.30+ uses it by default)."""

import json
import time

import websocket

from cri_check import Failure

STDIN, STDOUT, STDERR, STATUS, RESIZE = range(5)
PROTOCOL = "v4.channel.k8s.io"


class Stream:
    """One Exec or Attach session: what arrived on each channel, and whether the server closed."""

    def __init__(self, url, timeout=60):
        if not url.startswith("http://"):
            raise Failure(f"streaming URL: expected http://..., got {url!r}")
        self.timeout = timeout
        self.ws = websocket.create_connection("ws://" + url[len("http://"):], timeout=timeout,
                                              subprotocols=[PROTOCOL])
        self.got = {STDOUT: b"", STDERR: b"", STATUS: b""}
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.ws.close()

    @property
    def protocol(self):
        return self.ws.getsubprotocol()

    def send(self, data, channel=STDIN):
        self.ws.send_binary(bytes([channel]) + (data.encode() if isinstance(data, str) else data))

    def resize(self, width, height):
        self.send(json.dumps({"Width": width, "Height": height}), RESIZE)

    def _read_one(self):
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed = True
        elif data:
            self.got[data[0]] = self.got.get(data[0], b"") + data[1:]

    def read_until(self, needle, channel=STDOUT):
        """Reads until NEEDLE (str) has arrived on CHANNEL; returns that channel's text so far."""
        deadline = time.monotonic() + self.timeout
        while needle.encode() not in self.got.get(channel, b""):
            if self.closed or time.monotonic() > deadline:
                raise Failure(f"stream: {needle!r} never arrived on channel {channel} "
                              f"({'closed' if self.closed else 'timed out'}; got {self.got})")
            self._read_one()
        return self.got[channel].decode(errors="replace")

    def wait(self):
        """Reads until the server closes; returns (stdout, stderr, status dict)."""
        deadline = time.monotonic() + self.timeout
        while not self.closed:
            if time.monotonic() > deadline:
                raise Failure(f"stream: the server did not close in {self.timeout} s (got {self.got})")
            try:
                self._read_one()
            except websocket.WebSocketConnectionClosedException:
                self.closed = True
        status = json.loads(self.got[STATUS] or b"{}")
        return self.got[STDOUT].decode(errors="replace"), self.got[STDERR].decode(errors="replace"), status


def exit_code(status):
    """The exit code a v4 status carries (kubectl's reading of it); None if it has none."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in status.get("details", {}).get("causes", []):
            if cause.get("reason") == "ExitCode":
                return int(cause.get("message", "-1"))
    return None


def _forward_stdin(stream, src):
    """Sends what SRC (a binary file) gives, chunk by chunk, until its EOF (v4 cannot pass the EOF on)."""
    import threading

    def pump():
        try:
            for chunk in iter(lambda: src.read1(4096), b""):
                stream.send(chunk)
        except (OSError, websocket.WebSocketException):
            pass

    threading.Thread(target=pump, daemon=True).start()


def _copy_out(stream, out, err):
    """Writes what arrives on stdout/stderr as it comes, until the server closes; returns the status."""
    while not stream.closed:
        try:
            opcode, data = stream.ws.recv_data()
        except websocket.WebSocketTimeoutException:
            continue
        except websocket.WebSocketConnectionClosedException:
            break
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        if data and data[0] in (STDOUT, STDERR):
            dst = out if data[0] == STDOUT else err
            dst.write(data[1:])
            dst.flush()
        elif data and data[0] == STATUS:
            stream.got[STATUS] += data[1:]
    return json.loads(stream.got[STATUS] or b"{}")


def run_interactive(url, stdin, out, err):
    """cri.py exec --stream / attach: copies STDIN (a binary file, or None) in and the output out;
    returns the exit code from the status (1 when the status carries none, as for an attach)."""
    with Stream(url, timeout=3600) as s:
        if stdin is not None:
            _forward_stdin(s, stdin)
        status = _copy_out(s, out, err)
    code = exit_code(status)
    if code is None and status.get("message"):
        err.write(f"cri: {status['message']}\n".encode())
    return 1 if code is None else code
