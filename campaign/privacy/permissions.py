"""Staff permissions of the privacy endpoints: the staff roles of campaign/permissions.py."""

from __future__ import annotations

from campaign.permissions import ORGANISE, PRIVACY_OFFICER, HasStaffPermission

IsPrivacyOfficer = HasStaffPermission(PRIVACY_OFFICER)
IsOrganiser = HasStaffPermission(ORGANISE)
