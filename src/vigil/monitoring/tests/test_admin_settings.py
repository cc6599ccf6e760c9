import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.monitoring.models import AlarmSettings, RuleVersion
from vigil.testing import SiteFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True))
    return client


def test_rule_settings_are_versioned_and_validated(admin_client):
    site = SiteFactory()
    url = reverse("admin:monitoring_ruleversion_add")
    bad = admin_client.post(url, {"site": site.pk, "rules": '{"spo2_lo": 88}'})
    assert bad.status_code == 200 and "unknown rule setting" in bad.content.decode()
    assert not RuleVersion.objects.exists()
    for value in (88, 87):
        response = admin_client.post(url, {"site": site.pk, "rules": f'{{"spo2_low": {value}}}'})
        assert response.status_code == 302
    assert list(RuleVersion.objects.order_by("version").values_list("version", "rules")) == [
        (1, {"spo2_low": 88}),
        (2, {"spo2_low": 87}),
    ]


def test_fallback_contacts_are_checked(admin_client):
    site = SiteFactory()
    url = reverse("admin:monitoring_alarmsettings_add")
    base = {
        "site": site.pk,
        "ack_escalation_seconds": 15,
        "claim_escalation_seconds": 45,
        "resound_after_seconds": 120,
    }
    bad = admin_client.post(
        url, {**base, "fallback_contacts": '[{"name": "Pager", "notifier": "webhook"}]'}
    )
    assert "needs an http(s) target" in bad.content.decode()
    ok = admin_client.post(
        url,
        {
            **base,
            "fallback_contacts": '[{"name": "Pager", "notifier": "webhook", "target": "https://pager.lan/send"}]',
        },
    )
    assert ok.status_code == 302
    assert AlarmSettings.objects.get().fallback_contacts[0]["target"] == "https://pager.lan/send"
