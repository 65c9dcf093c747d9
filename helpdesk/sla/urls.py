from django.urls import path

from helpdesk.sla import views

app_name = "sla"

urlpatterns = [
    path("", views.sla_report_page, name="report"),
    path("export.csv", views.sla_report_csv, name="report_csv"),
]
