from django.apps import AppConfig


class OfficialsConfig(AppConfig):
    name = "campaign.officials"
    label = "officials"
    verbose_name = "Officials and deliveries"
