"""Ports for the servers the tests start on 127.0.0.1."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """A free port below the kernel's ephemeral range (32768-60999): a port the kernel hands out (port 0) can be
    taken again before the server that was meant to have it binds — by a code server's gRPC child, say, which
    binds port 0 itself, or by another test's client socket."""
    for port in random.sample(range(20000, 32768), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32767")
