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

        from anymail.signals import tracking

        from campaign.privacy import requests  # noqa: F401 - registers the privacy mail builders
        from campaign.privacy.bounces import anymail_event_received

        tracking.connect(anymail_event_received, dispatch_uid="campaign.privacy.bounces")

        from campaign.metrics import gauge_source_register
        from campaign.outbox.metrics import outbox_gauges
        from campaign.task_metrics import beat_gauges, celery_signals_connect

        gauge_source_register("outbox", outbox_gauges)
        gauge_source_register("beat", beat_gauges)
        celery_signals_connect()
