"""Which sites a member of staff may see: their own, all of them for a superuser."""

from django.http import Http404

from vigil.sites.models import Site


def sites_for(user):
    if user.is_superuser:
        return Site.objects.select_related("jurisdiction").all()
    return user.sites.select_related("jurisdiction").all()


def site_for(user, site_id: int) -> Site:
    """The site if `user` works there; 404 otherwise, so other sites' existence is not told."""
    try:
        return sites_for(user).get(pk=site_id)
    except Site.DoesNotExist as exc:
        raise Http404("No such site.") from exc
