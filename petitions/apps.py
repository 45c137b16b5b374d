from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = "Petitions"

    def ready(self) -> None:
        from campaign.crm.exports import subscriber_address_resolver_register
        from campaign.privacy.access import exporter_register
        from campaign.privacy.erasure import eraser_register
        from petitions import checks, emails  # noqa: F401 - registers system checks and mail builders
        from petitions.privacy import signature_addresses, signatures_erase, signatures_export
        from petitions.signing import SIGNATURE_SUBJECT_TYPE

        eraser_register("petitions", signatures_erase)
        exporter_register("petitions", signatures_export)
        subscriber_address_resolver_register(SIGNATURE_SUBJECT_TYPE, signature_addresses)
