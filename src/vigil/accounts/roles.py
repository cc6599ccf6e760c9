"""Staff roles and the groups of roles that views allow.

Every view declares the roles it admits (see `allow`); a view that declares nothing is
refused by `RoleRequiredMiddleware`, so a forgotten declaration fails closed.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk / peer worker")
    NURSE = "nurse", _("Nurse")
    CASE_MANAGER = "case_manager", _("Case manager")
    SITE_MANAGER = "site_manager", _("Site manager")
    EVALUATOR = "evaluator", _("Evaluator")
    ADMINISTRATOR = "administrator", _("Administrator")


ALL = frozenset(Role)
# People who work the floor see participants by alias; the evaluator never does.
FLOOR_STAFF = frozenset({Role.FRONT_DESK, Role.NURSE, Role.CASE_MANAGER, Role.SITE_MANAGER})
CHECK_IN = frozenset({Role.FRONT_DESK, Role.NURSE, Role.SITE_MANAGER})
CLINICAL = frozenset({Role.NURSE, Role.SITE_MANAGER})
MANAGERS = frozenset({Role.SITE_MANAGER, Role.ADMINISTRATOR})
