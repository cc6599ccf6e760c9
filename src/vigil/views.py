"""Project-level views: the health check and the landing page after sign-in."""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from vigil.accounts.middleware import allow, public
from vigil.accounts.roles import ALL, FLOOR_STAFF, Role
from vigil.sites.access import sites_for


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


@public
async def healthz(request):
    """200 when the process answers, the database answers and the loop is not stalled."""
    started = time.monotonic()
    await asyncio.sleep(0)
    loop_lag_ms = (time.monotonic() - started) * 1000
    try:
        database = await sync_to_async(_database_ok)()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, reported as such
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    healthy = database and loop_lag_ms < 1000
    return JsonResponse(
        {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "loop_lag_ms": round(loop_lag_ms, 2),
        },
        status=200 if healthy else 503,
    )


@allow(ALL)
def home(request):
    """Send each role to where its day starts."""
    user = request.user
    sites = list(sites_for(user))
    if user.role == Role.ADMINISTRATOR:
        return redirect("admin:index")
    if user.role in FLOOR_STAFF and len(sites) == 1:
        return redirect("floor:board", site_id=sites[0].pk)
    return render(request, "home.html", {"sites": sites})
