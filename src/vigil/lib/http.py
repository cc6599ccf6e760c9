"""HTTP hardening that Django and django-csp do not do on their own.

`NoStoreMiddleware` marks every dynamically made response `Cache-Control: no-store`. Static
files are answered earlier (ServeStatic) and keep their long cache lifetime. The simplest honest
rule: a page, a fragment, an SSE stream or an API answer may name a participant, so none of them
may be kept by the browser's cache, a shared tablet's back button, or a proxy.

`csp_nonce` puts the request's CSP nonce in every template context under the name django-htmx's
`{% htmx_script %}` looks for, so its script tags carry the nonce.
"""

from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin


class NoStoreMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


def csp_nonce(request) -> dict:
    nonce = getattr(request, "csp_nonce", None)
    return {"csp_nonce": nonce} if nonce is not None else {}


def validate_upload_size(upload) -> None:
    """A form field validator for uploaded files (e.g. the evaluation's CSV files): refuses a
    file over settings.MAX_UPLOAD_BYTES with a message that says the limit. Django limits form
    fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not the size of an uploaded file."""
    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.template.defaultfilters import filesizeformat
    from django.utils.translation import gettext as _

    limit = settings.MAX_UPLOAD_BYTES
    if upload is not None and upload.size > limit:
        raise ValidationError(
            _("The file is %(size)s; the largest accepted is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
        )
