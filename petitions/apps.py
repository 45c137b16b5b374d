from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = "Petitions"

    def ready(self) -> None:
        from campaign.privacy.erasure import eraser_register
        from petitions import checks, emails  # noqa: F401 - registers system checks and mail builders
        from petitions.privacy import signatures_erase

        eraser_register("petitions", signatures_erase)
