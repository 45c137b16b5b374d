from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaign.privacy import requests  # noqa: F401 - registers the privacy mail builders
        from campaign.privacy.bounces import anymail_event_received

        tracking.connect(anymail_event_received, dispatch_uid="campaign.privacy.bounces")
