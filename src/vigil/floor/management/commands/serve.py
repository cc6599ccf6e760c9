import asyncio
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from vigil.lib.server import bind, serve

SWITCH_INTERVAL_SECONDS = 0.0005


class Command(BaseCommand):
    help = (
        "Run Vigil in one process on one asyncio loop: the web app (uvicorn, Django ASGI), the "
        "HL7/MLLP device gateway, the alarm engine and the escalation outbox. Port 0 picks a "
        "free port and prints it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT", "8000")),
            help="web port (default $PORT or 8000; 0 = any free port, printed)",
        )
        parser.add_argument(
            "--mllp-port",
            type=int,
            default=int(os.environ.get("VIGIL_MLLP_PORT", "2575")),
            help="HL7 MLLP device port (default 2575; 0 = any free port, printed)",
        )
        parser.add_argument(
            "--mllp-host", default=None, help="address for the device gateway (default: --host)"
        )
        parser.add_argument("--no-gateway", action="store_true", help="do not open the device port")
        parser.add_argument(
            "--log-level", default="info", choices=["debug", "info", "warning", "error"]
        )

    def handle(self, *args, host, port, mllp_port, mllp_host, no_gateway, log_level, **options):
        from django.core.asgi import get_asgi_application

        from vigil.monitoring.engine import AlarmEngine
        from vigil.monitoring.gateway import Gateway, ReadingWriter, start_gateway
        from vigil.monitoring.notifiers import run_outbox

        web = self._bind(host, port, "web")
        gateway_sock = (
            None if no_gateway else self._bind(mllp_host or host, mllp_port, "device gateway")
        )
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(f"Vigil listening on http://{shown}:{web.getsockname()[1]}/")
        if gateway_sock is not None:
            self.stdout.write(
                f"Device gateway (HL7 MLLP) on {mllp_host or host}:{gateway_sock.getsockname()[1]}"
            )
        self.stdout.flush()
        application = get_asgi_application()
        engine = AlarmEngine()
        writer = ReadingWriter()

        async def gateway_task() -> None:
            if gateway_sock is None:
                return
            server = await start_gateway(Gateway(engine, writer), gateway_sock)
            async with server:
                await server.serve_forever()

        companions = [engine.run, writer.run, gateway_task, run_outbox]
        # Board renders on worker threads hold the GIL for up to the switch interval each time
        # the loop or the alarm thread gives it up for I/O (every socket read, every SQLite
        # statement). At CPython's default 5 ms an alarm's dozen statements could wait 100 ms
        # for the interpreter behind a render; at 0.5 ms the loop and the alarm thread get it
        # back ten times sooner (docs/performance.md, "GIL switch interval").
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        asyncio.run(serve(application, web, companions=companions, log_level=log_level))

    def _bind(self, host: str, port: int, what: str):
        try:
            return bind(host, port)
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {host}:{port} for the {what}: {exc.strerror}"
            ) from exc
