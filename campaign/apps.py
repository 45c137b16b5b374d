from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        import logging

        from django.conf import settings
        from django.core.signals import request_finished

        if settings.LOG_FORMAT == "json":
            logging.captureWarnings(True)  # Python warnings as JSON log lines too

        from campaign.logs import request_id_clear

        request_finished.connect(request_id_clear, dispatch_uid="campaign.request_id_clear")
