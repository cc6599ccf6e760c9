from django.core.management.base import BaseCommand, CommandError

from vigil.monitoring import actions
from vigil.monitoring.models import Device, DeviceKind
from vigil.sites.models import Place


def find_place(spec: str) -> Place:
    """ "Seattle CHEL/B3" -> that place."""
    site_name, sep, label = spec.rpartition("/")
    if not sep or not site_name or not label:
        raise CommandError(f"Name the place as SITE/LABEL, e.g. 'Seattle CHEL/B3' (got {spec!r}).")
    place = Place.objects.filter(site__name=site_name, label=label).first()
    if place is None:
        raise CommandError(
            f"No place {label!r} at a site named {site_name!r}. `vigil site list` shows them."
        )
    return place


class Command(BaseCommand):
    help = "Manage monitoring devices: vigil devices add | bind | list."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a device and bind it to a place")
        add.add_argument(
            "--booth",
            "--place",
            dest="place",
            required=True,
            help='the place, "SITE/LABEL", e.g. "Seattle CHEL/B3"',
        )
        add.add_argument(
            "--device-id",
            required=True,
            help="EUI-64 or the sending application name (any case, any separators)",
        )
        add.add_argument("--kind", default=DeviceKind.MONITOR, choices=DeviceKind.values)
        add.add_argument("--label", default="")
        add.add_argument(
            "--token",
            action="store_true",
            help="make (and print once) a token for the HTTP ingest of a bridge",
        )
        bind = sub.add_parser("bind", help="bind a known (e.g. unbound) device to a place")
        bind.add_argument("--device-id", required=True)
        bind.add_argument("--place", required=True)
        listing = sub.add_parser("list", help="list devices, their places, and unbound devices")
        listing.add_argument(
            "--unbound", action="store_true", help="only devices not bound to a place"
        )

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_add(self, place, device_id, kind, label, token, **_):
        try:
            device, secret = actions.add_device(
                device_id=device_id,
                place=find_place(place),
                kind=kind,
                label=label,
                with_token=token,
            )
        except actions.DeviceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{device.device_id} bound to {device.place}.")
        if secret:
            self.stdout.write(f"Bridge token (shown once): {secret}")

    def do_bind(self, device_id, place, **_):
        from vigil.monitoring.vitals import normalise_device_id

        device = Device.objects.filter(device_id=normalise_device_id(device_id)).first()
        if device is None:
            raise CommandError(f"No device {device_id!r}. `vigil devices list` shows them.")
        actions.bind_device(device, find_place(place))
        self.stdout.write(f"{device.device_id} bound to {device.place}.")

    def do_list(self, unbound, **_):
        devices = Device.objects.select_related("place__site").order_by("device_id")
        if unbound:
            devices = devices.filter(place__isnull=True)
        for device in devices:
            where = str(device.place) if device.place else "UNBOUND"
            seen = (
                device.last_seen_at.isoformat(timespec="seconds")
                if device.last_seen_at
                else "never"
            )
            skew = (
                f"\tclock off by {device.clock_skew_seconds:+.0f} s"
                if device.clock_skew_seconds and abs(device.clock_skew_seconds) > 30
                else ""
            )
            self.stdout.write(f"{device.device_id}\t{device.kind}\t{where}\tlast seen {seen}{skew}")
