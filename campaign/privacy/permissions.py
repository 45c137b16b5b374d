"""Staff permissions of the privacy endpoints (the codenames are on Campaign's Meta)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


class _HasCampaignPermission(BasePermission):
    codename = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.codename))


class IsPrivacyOfficer(_HasCampaignPermission):
    codename = "campaign.privacy_officer"


class IsOrganiser(_HasCampaignPermission):
    codename = "campaign.organise"
