"""A loopback TCP proxy that can cut every connection through it, as a flaky network would.

Workers pointed at the proxy talk to the real test redis-server; a test calls ``cut()`` to reset
every open connection (``SO_LINGER 0``: the peer sees a TCP reset, not a clean close) and to
reset each new one for a while, then lets connections through again.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time

_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST at once


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    with contextlib.suppress(OSError):
        sock.close()


class ResettingProxy:
    """Forwards 127.0.0.1:<port> to ``target_port``; one selector thread moves every byte."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._selector = selectors.DefaultSelector()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._refusing = threading.Event()
        self._reset_requested = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resetting-proxy", daemon=True)
        self.connections_accepted = 0
        self.connections_reset = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ResettingProxy:
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def cut(self, seconds: float) -> None:
        """Reset every connection now and every new one for ``seconds``; blocks that long."""
        self._refusing.set()
        self._reset_requested.set()
        time.sleep(seconds)
        self._refusing.clear()

    def flap(self, cuts: int, cut_seconds: float, between_seconds: float) -> None:
        """``cuts`` outages of ``cut_seconds`` each, with ``between_seconds`` of service between."""
        for _ in range(cuts):
            self.cut(cut_seconds)
            time.sleep(between_seconds)

    # --- the selector thread: all socket work happens here -----------------------------------

    def _run(self) -> None:
        while not self._stopped.is_set():
            for key, _ in self._selector.select(timeout=0.02):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                else:
                    self._forward(sock)
            if self._reset_requested.is_set():
                self._reset_requested.clear()
                self._reset_all()
        self._reset_all()
        self._selector.close()
        self._listener.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._refusing.is_set():
            self.connections_reset += 1
            _reset(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            _reset(client)
            return
        self.connections_accepted += 1
        for sock in (client, upstream):
            sock.setblocking(True)
            sock.settimeout(5)  # a sendall to a stuck peer must not stall every connection forever
        self._peers[client], self._peers[upstream] = upstream, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(upstream, selectors.EVENT_READ)

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        self._close_pair(sock, peer, reset=False)

    def _close_pair(self, sock: socket.socket, peer: socket.socket, *, reset: bool) -> None:
        for each in (sock, peer):
            self._peers.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            if reset:
                _reset(each)
            else:
                with contextlib.suppress(OSError):
                    each.close()

    def _reset_all(self) -> None:
        pairs = {frozenset((sock, peer)) for sock, peer in self._peers.items()}
        for pair in pairs:
            sock, peer = tuple(pair)
            self.connections_reset += 1
            self._close_pair(sock, peer, reset=True)
