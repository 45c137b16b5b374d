"""The admin site, behind the second factor: a staff account reaches it only from a session
verified with django-otp (a password alone is not enough). Its login page is the staff login."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse

from campaign.permissions import request_is_second_factor_verified


class StaffAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and request_is_second_factor_verified(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The staff login (password, then the second factor) in place of Django's."""
        from campaign.staff_views import staff_login  # it needs the models; this module loads first

        return staff_login(request)


class StaffAdminConfig(AdminConfig):
    """Django's admin app with the site above (INSTALLED_APPS names this instead of
    django.contrib.admin)."""

    default_site = "campaign.admin_site.StaffAdminSite"
