from django.apps import AppConfig


class OfficialsConfig(AppConfig):
    name = "officials"
    label = "officials"
    verbose_name = "Officials and deliveries"

    def ready(self) -> None:
        from officials import emails  # noqa: F401 - registers the delivery mail builder
