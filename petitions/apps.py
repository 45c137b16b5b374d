from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = "Petitions"

    def ready(self) -> None:
        from petitions import checks, emails  # noqa: F401 - registers system checks and mail builders
