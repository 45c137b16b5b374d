from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = "Petitions"

    def ready(self) -> None:
        from campaign.privacy.access import exporter_register
        from campaign.privacy.erasure import eraser_register
        from petitions import checks, emails, export_kinds  # noqa: F401 - system checks, mail builders, exports
        from petitions.privacy import signatures_erase, signatures_export

        eraser_register("petitions", signatures_erase)
        exporter_register("petitions", signatures_export)
