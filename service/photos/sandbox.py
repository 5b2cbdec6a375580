"""Run photo decoding in child processes under a CPU-time, a memory and a wall-clock ceiling.

A few kilobytes can ask a decoder for minutes of CPU or gigabytes of memory (thousands of progressive
JPEG scans, a pixel bomb). Each photo is decoded in a fresh child of a small zygote process
(service/photos/zygote.py); the child limits itself with RLIMIT_CPU, RLIMIT_DATA and alarm(), so a hostile file
can end only its own child, never a web worker, and the ceilings hold whatever the decoder does.
Each app process starts its own zygote on first use (after gunicorn forked it), and a new one if it died.
The zygote gets an empty environment: a decoder exploited by a hostile file finds no secret in it.

Why these ceilings (settings DECODE_CPU_S, DECODE_MEMORY_MB, DECODE_WALL_S, DECODE_SLOTS):
- 4 CPU seconds per photo: a 12 MP phone JPEG takes under 0.1 s, a 48 MP HEIC about 1.5 s; thousands of
  progressive scans would take 15-20 s. A request of three photos decodes them side by side, so it holds a
  worker for about the ceiling, not three times it.
- 768 MB per photo: a legitimate 64 MP PNG (the pixel limit) needs about 500 MB decoded as RGBA, converted
  and shrunk; a pixel bomb that slipped past the header checks needs more and is refused.
- 15 s wall clock: a child starved of CPU on a busy machine is not refused too early, one stuck is ended.
- 4 children per app process: threaded workers cannot fork without bound; a sync worker uses up to 3. A
  request needing more than there are (slots below 3) runs them all at once rather than never.

Face detection (BLUR_FACES, on by default) runs in the same child right after the decode, under its own ceilings
(FACE_CPU_S, FACE_MEMORY_MB, FACE_WALL_S): 4 CPU seconds (CenterFace on a 2048 px copy, seen at 1280 px, takes
0.7-1.0 s on one core: bench/privacy.py), 512 MB above what the decode left (the network's activations raise a
child's peak resident memory by about 190 MB), 10 s of wall clock. A child that fails or is ended there has decoded
a good photo: the upload is accepted, its public copy waits.
"""
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from service.photos.decode import Derived
from service.photos.zygote import BOX, DECODED, FINISHED, REQUEST, STATUS

ZYGOTE = Path(__file__).with_name("zygote.py")
_lock = threading.Lock()
_state: dict = {}


@dataclass(frozen=True)
class Ceilings:
    cpu_s: int  # CPU seconds per photo, all decoder threads together
    memory_mb: int  # heap and anonymous memory the decoder may add to a bare child
    wall_s: float  # a child still running after this is ended (it may be starved, not only busy)
    slots: int  # children one app process runs at once
    blur_faces: bool = True
    face_cpu_s: int = 4  # CPU seconds face detection may add to what the decode used
    face_memory_mb: int = 512  # memory it may add to what the decode holds
    face_wall_s: float = 10.0


class _Slots:
    """Children one app process may run at once. A request takes all it needs in one step, so two threads
    can never each hold part of what they need and wait for the other until both time out."""

    def __init__(self, total: int):
        self.total, self.free, self.changed = total, total, threading.Condition()

    def take(self, wanted: int, timeout: float) -> int:
        wanted = min(wanted, self.total)
        with self.changed:
            if not self.changed.wait_for(lambda: self.free >= wanted, timeout):
                raise DecodeRefused("busy")
            self.free -= wanted
        return wanted

    def give(self, count: int) -> None:
        with self.changed:
            self.free += count
            self.changed.notify_all()


class DecodeRefused(Exception):
    """The photo cannot be decoded within the ceilings ("too_complex"), at all ("corrupt"), or now ("busy")."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _zygote(slots: int) -> socket.socket:
    """Return the control socket of this process's zygote, starting one if needed (call under _lock)."""
    z = _state.get("zygote")
    if z is not None and z["pid"] == os.getpid() and z["proc"].poll() is None:
        return z["control"]
    mine, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, str(ZYGOTE), str(theirs.fileno())], pass_fds=[theirs.fileno()],
                            stdin=subprocess.DEVNULL, env={})
    theirs.close()
    _state["zygote"] = {"pid": os.getpid(), "proc": proc, "control": mine}
    _state.setdefault("slots", _Slots(slots))
    return mine


def shutdown() -> None:
    """Stop this process's zygote and wait for it (it waits for its children): for tests and benchmarks."""
    with _lock:
        z = _state.pop("zygote", None)
        if z is not None and z["pid"] == os.getpid():
            z["control"].close()
            z["proc"].wait()


def _submit(data: bytes, ceilings: Ceilings, boxes=()) -> socket.socket:
    """Hand one photo to a fresh child (with the regions to cover besides its faces); return the socket its answer
    will come on."""
    mine, theirs = socket.socketpair()
    with _lock:
        try:
            socket.send_fds(_zygote(ceilings.slots), [b"t"], [theirs.fileno()])
        except OSError:  # the zygote died (killed, out of memory): start another once
            _state.pop("zygote", None)
            socket.send_fds(_zygote(ceilings.slots), [b"t"], [theirs.fileno()])
    theirs.close()
    mine.settimeout(ceilings.wall_s + 5)
    c = ceilings
    mine.sendall(REQUEST.pack(c.cpu_s, c.memory_mb, max(1, round(c.wall_s)), c.blur_faces, c.face_cpu_s,
                              c.face_memory_mb, round(c.face_wall_s * 1000), len(boxes))
                 + b"".join(BOX.pack(*box) for box in boxes) + data)
    mine.shutdown(socket.SHUT_WR)
    return mine


def _answer(sock: socket.socket) -> tuple[str, Derived | None]:
    """Read a child's answer; a child ended by a ceiling while decoding answers nothing, which is 'too_complex';
    one that decoded but did not finish (face detection failed) gives a Derived with no public copy."""
    chunks = []
    try:
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
    except OSError:  # timed out or reset
        return "too_complex", None
    finally:
        sock.close()
    raw = b"".join(chunks)
    if len(raw) < DECODED.size:
        return "too_complex", None
    status, width, height, phash = DECODED.unpack_from(raw)
    if STATUS.get(status) != "ok":
        return STATUS.get(status, "corrupt"), None
    if len(raw) < DECODED.size + FINISHED.size or raw[DECODED.size] != 0:
        return "ok", Derived(width, height, None, None, phash)
    public_len = FINISHED.unpack_from(raw, DECODED.size)[1]
    body = raw[DECODED.size + FINISHED.size:]
    if len(body) < public_len:  # cut short: never publish part of a copy
        return "ok", Derived(width, height, None, None, phash)
    return "ok", Derived(width, height, body[:public_len], body[public_len:], phash)


def derive_all(uploads: list[bytes], ceilings: Ceilings, boxes: list | None = None) -> list[Derived]:
    """Decode the photos of one request side by side, each in its own child; raise DecodeRefused if any fails.
    boxes[i], when given, are the regions (fractions of the copy) to cover in photo i besides its faces."""
    boxes = boxes or [()] * len(uploads)
    with _lock:
        _zygote(ceilings.slots)
        slots = _state["slots"]
    held = slots.take(len(uploads), ceilings.wall_s)
    try:
        answers = [_answer(sock) for sock in [_submit(data, ceilings, b) for data, b in zip(uploads, boxes,
                                                                                           strict=True)]]
    finally:
        slots.give(held)
    refused = next((status for status, _ in answers if status != "ok"), None)
    if refused is not None:
        raise DecodeRefused(refused)
    return [value for _, value in answers]
