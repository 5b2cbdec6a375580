"""The decode zygote: a small process, run as a script, that forks one child per photo under ceilings.

Forking the web worker itself costs tens of milliseconds (its page tables are large); forking this process,
which holds only Pillow, costs about one. It is not part of the service package on purpose: started as
`python service/photos/zygote.py FD`, it imports decode.py as a plain module and never loads Flask or the DB.

Wire format (no pickle: a child that decoded hostile bytes is not trusted by the parent):
  request  = struct REQUEST (cpu_s, memory_mb, wall_s, blur, face_cpu_s, face_memory_mb, face_wall_ms, n_boxes)
             + n_boxes x struct BOX (left, top, right, bottom as fractions 0..1 of the upright copy: the regions a
             person chose to hide, service/photos/boxes.py) + photo bytes, then EOF
  response = struct DECODED (status, width, height, phash), as soon as the photo is decoded,
             then struct FINISHED (status, len(public)) + public + thumb once its faces are blurred.
A child that dies between the two (face detection over its own ceilings) has decoded a good photo whose public copy
must wait: the parent keeps the original and publishes nothing (service/photos/redact.py finishes it later).
"""
import os
import resource
import signal
import socket
import struct
import sys

REQUEST = struct.Struct("!IIIBIIIH")
BOX = struct.Struct("!4d")
DECODED = struct.Struct("!BIIq")
FINISHED = struct.Struct("!BQ")
STATUS = {0: "ok", 1: "too_complex", 2: "corrupt"}


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _vm_data_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(cpu_s: int, memory_mb: int, wall_s: int) -> None:
    # SIGALRM and SIGXCPU keep their default action: the kernel ends the child, whatever the decoder does.
    # RLIMIT_DATA (Linux >= 4.7) counts the heap and private writable mappings, i.e. what pixel buffers take,
    # but not address space glibc only reserves for per-thread arenas, which RLIMIT_AS would count and so
    # refuse threaded decoders (libheif) early.
    signal.alarm(wall_s)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    limit = _vm_data_bytes() + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _limit_faces(cpu_s: int, memory_mb: int, wall_ms: int) -> None:
    """Give face detection its own ceilings, counted from where decoding left off (within the hard limits)."""
    signal.setitimer(signal.ITIMER_REAL, max(wall_ms, 1) / 1000)
    used = resource.getrusage(resource.RUSAGE_SELF)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(hard, int(used.ru_utime + used.ru_stime) + cpu_s), hard))
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (min(hard, _vm_data_bytes() + memory_mb * 2**20), hard))


def _serve(sock: socket.socket, photo_decode, detect) -> None:
    request = _read_all(sock)
    cpu_s, memory_mb, wall_s, blur, *face_limits, n_boxes = REQUEST.unpack_from(request)
    boxes = [BOX.unpack_from(request, REQUEST.size + i * BOX.size) for i in range(n_boxes)]
    _limit(cpu_s, memory_mb, wall_s)
    try:
        public, phash = photo_decode.decode(request[REQUEST.size + n_boxes * BOX.size:])
    except MemoryError:
        return sock.sendall(DECODED.pack(1, 0, 0, 0))
    except Exception:  # whatever a decoder raises on a hostile file, it is a bad photo, not a server error
        return sock.sendall(DECODED.pack(2, 0, 0, 0))
    sock.sendall(DECODED.pack(0, public.width, public.height, phash))
    if blur:
        _limit_faces(*face_limits)
    try:
        copy, thumb = photo_decode.finish(public, bool(blur) or bool(boxes), _treat(detect if blur else None, boxes))
    except Exception:  # the detector failed (e.g. out of its memory): the copy waits, unpublished
        return sock.sendall(FINISHED.pack(1, 0))
    sock.sendall(FINISHED.pack(0, len(copy)) + copy + thumb)


def _treat(detect, boxes: list):
    """Blur the faces found (when asked), then cover the boxes a person drew, given as fractions of the copy."""
    import faces

    def treat(img):
        if detect is not None:
            img = detect(img)
        w, h = img.size
        return faces.blur(img, [(x0 * w, y0 * h, x1 * w, y1 * h) for x0, y0, x1, y1 in boxes], margin=0.0)
    return treat


def main(fd: int) -> None:
    """Fork a child for every task socket the parent sends; leave when the parent goes away."""
    import decode as photo_decode  # loaded once here, shared by every child
    import faces

    photo_decode.warm_up()
    try:
        faces.load()
    except Exception:  # no model: every child's detection then fails, so no copy is published unblurred
        pass

    control = socket.socket(fileno=fd)
    # Reaping children here (not SIG_IGN) adds their CPU time and peak memory to this process's
    # RUSAGE_CHILDREN, so the decode cost stays visible to whoever waits for the zygote (bench/hostile.py).
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            break
        if not msg:
            break
        for task in fds:
            if os.fork() == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                control.close()
                try:
                    _serve(socket.socket(fileno=task), photo_decode, faces.blur_all)
                finally:
                    os._exit(0)
            os.close(task)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _wait_all()


def _reap(_signum, _frame) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _wait_all() -> None:
    """Wait for the children still running (each ends by its own alarm at the latest)."""
    try:
        while True:
            os.wait()
    except ChildProcessError:
        pass


if __name__ == "__main__":
    main(int(sys.argv[1]))
