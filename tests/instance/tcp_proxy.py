"""A TCP proxy the tests control, to take a shared server away from one client only.

``TcpProxy(host, port)`` listens on a free local port and forwards each connection to
the server. ``cut()`` is an outage as a client sees it: every open connection is reset
and new ones are refused (the listening socket is closed) until ``restore()`` listens
again on the same port. ``lose_reply_to(marker)`` forwards the next client message that
contains ``marker`` and then resets that connection instead of passing on the server's
answer: the server did the work, the client cannot know.
"""

from __future__ import annotations

import socket
import struct
import threading


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``(host, port)``; ``cut`` / ``restore`` it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._trap: bytes | None = None
        self._sprung: set[socket.socket] = set()  # client sockets whose reply is lost
        self.replies_lost = 0
        self.port = 0
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect."""
        return ("127.0.0.1", self.port)

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # shut by cut() or close()
                return
            if listener is not self._listener:  # accepted as it was being shut
                _reset(client)
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                args = (source, sink, source is client)
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def lose_reply_to(self, marker: bytes) -> None:
        """Arm a one-shot trap: the reply to the next message containing ``marker`` is
        lost (its connection reset once the server has answered)."""
        with self._lock:
            self._trap = marker

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client:
                    with self._lock:
                        if self._trap is not None and self._trap in data:
                            self._trap = None
                            self._sprung.add(source)
                    sink.sendall(data)
                    continue
                with self._lock:
                    sprung = sink in self._sprung
                    if sprung:
                        self._sprung.discard(sink)
                        self.replies_lost += 1
                if sprung:  # the server answered: drop the answer, reset the client
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            for sock in (source, sink):
                _reset(sock)

    def cut(self) -> None:
        """Reset every connection and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._open = list(self._open), set()
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # stop listening, wake accept()
            except OSError:
                pass
            listener.close()
        for sock in connections:
            _reset(sock)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    def close(self) -> None:
        """Stop for good."""
        self.cut()


def _reset(sock: socket.socket) -> None:
    """Close with a reset (RST), as a dying server or a broken network does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)  # wakes the thread blocked reading it
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
