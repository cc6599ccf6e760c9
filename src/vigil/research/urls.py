from django.urls import path

from vigil.research import views

app_name = "research"

urlpatterns = [
    path("studies/", views.studies, name="studies"),
    path("studies/demo/", views.run_demo, name="run-demo"),
    path("studies/run/", views.run_records, name="run-records"),
    path("studies/upload/", views.run_upload, name="run-upload"),
    path("studies/export/", views.export_deidentified, name="export"),
    path("studies/runs/<uuid:pk>/", views.run_detail, name="run"),
    path("studies/runs/<uuid:pk>/report.html", views.run_html, name="run-html"),
    path("studies/runs/<uuid:pk>/report.pdf", views.run_pdf, name="run-pdf"),
    path("studies/runs/<uuid:pk>/results.json", views.run_json, name="run-json"),
]
