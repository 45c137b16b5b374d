from django.urls import path

from campaign import export_pages, staff_views

urlpatterns = [
    path("login/", staff_views.staff_login, name="staff-login"),
    path("verify/", staff_views.staff_verify, name="staff-verify"),
    path("enrol/", staff_views.staff_enrol, name="staff-enrol"),
    path("tokens/", staff_views.staff_tokens, name="staff-tokens"),
    path("exports/", export_pages.staff_exports, name="staff-exports"),
    path(
        "exports/<int:export_job_id>/progress.json",
        export_pages.staff_export_progress,
        name="staff-export-progress",
    ),
    path("exports/<int:export_job_id>/download", export_pages.staff_export_file, name="staff-export-file"),
    path("logout/", staff_views.staff_logout, name="staff-logout"),
]
