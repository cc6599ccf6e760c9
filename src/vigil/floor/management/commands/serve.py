import asyncio
import os

from django.core.management.base import BaseCommand, CommandError

from vigil.lib.server import bind, serve


class Command(BaseCommand):
    help = (
        "Run Vigil: the web app (uvicorn, Django ASGI) on one asyncio loop. "
        "Port 0 picks a free port and prints it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT", "8000")),
            help="port (default $PORT or 8000; 0 = any free port, printed)",
        )
        parser.add_argument(
            "--log-level", default="info", choices=["debug", "info", "warning", "error"]
        )

    def handle(self, *args, host, port, log_level, **options):
        from django.core.asgi import get_asgi_application

        try:
            sock = bind(host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}") from exc
        bound_port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(f"Vigil listening on http://{shown}:{bound_port}/", ending="\n")
        self.stdout.flush()
        application = get_asgi_application()
        asyncio.run(serve(application, sock, log_level=log_level))
