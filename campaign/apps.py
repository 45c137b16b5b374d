from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from campaign.privacy import requests  # noqa: F401 - registers the privacy mail builders
