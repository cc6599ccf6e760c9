"""One process, one asyncio loop: uvicorn serving the Django ASGI app, and (later) the device
gateway and the alarm engine as tasks beside it."""

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import uvicorn

log = logging.getLogger("vigil.server")


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving so that port 0 can be resolved and printed before the first request."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


async def serve(
    app,
    sock: socket.socket,
    *,
    companions: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    log_level: str = "info",
) -> None:
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level=log_level,
        access_log=False,
        # Live screens hold streams open; a restart must not wait for them to end.
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(c()) for c in companions]
    try:
        await server.serve(sockets=[sock])
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
