from django.apps import AppConfig


class OfficialsConfig(AppConfig):
    name = "officials"
    label = "officials"
    verbose_name = "Officials and deliveries"

    def ready(self) -> None:
        # Imported here, not at module level: the models must be loaded first.
        from officials import (
            emails,  # noqa: F401 - registers the delivery mail builder
            receivers,
        )

        receivers.connect()  # follows the petition counts (petitions/signals.py)

        from campaign.metrics import gauge_source_register
        from officials.metrics import delivery_gauges

        gauge_source_register("deliveries", delivery_gauges)
