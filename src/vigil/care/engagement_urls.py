from django.urls import path

from vigil.care import engagement_views as views

urlpatterns = [
    path("sites/<int:site_id>/services/", views.services, name="services"),
    path("sites/<int:site_id>/drug-checks/", views.drug_checks, name="drug-checks"),
    path("sites/<int:site_id>/drug-checks/new", views.drug_check_new, name="drug-check-new"),
    path(
        "sites/<int:site_id>/drug-checks/<int:pk>/result",
        views.drug_check_result,
        name="drug-check-result",
    ),
    path(
        "sites/<int:site_id>/notices/<int:pk>/dismiss",
        views.notice_dismiss,
        name="notice-dismiss",
    ),
    path("sites/<int:site_id>/care-settings", views.care_settings, name="settings"),
    path("participants/<int:pk>/referrals/", views.referrals, name="referrals"),
    path("participants/<int:pk>/referrals/new", views.referral_new, name="referral-new"),
    path(
        "participants/<int:pk>/direct-to-treatment",
        views.direct_to_treatment,
        name="direct-to-treatment",
    ),
    path("participants/<int:pk>/timeline", views.timeline, name="timeline"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral-detail"),
    path("referrals/<int:pk>/advance", views.referral_advance, name="referral-advance"),
    path("follow-ups/", views.follow_ups, name="follow-ups"),
]
