from django.apps import AppConfig


class OfficialsConfig(AppConfig):
    name = "campaign.officials"
    label = "officials"
    verbose_name = "Officials and deliveries"

    def ready(self) -> None:
        from campaign.officials import emails  # noqa: F401 - registers the delivery mail builder
