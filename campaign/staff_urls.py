from django.urls import path

from campaign import staff_views

urlpatterns = [
    path("login/", staff_views.staff_login, name="staff-login"),
    path("verify/", staff_views.staff_verify, name="staff-verify"),
    path("enrol/", staff_views.staff_enrol, name="staff-enrol"),
    path("tokens/", staff_views.staff_tokens, name="staff-tokens"),
    path("logout/", staff_views.staff_logout, name="staff-logout"),
]
