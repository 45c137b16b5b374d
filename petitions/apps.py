from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = "Petitions"

    def ready(self) -> None:
        from campaign.crm.exports import subscriber_address_resolver_register
        from campaign.privacy.access import exporter_register
        from campaign.privacy.erasure import eraser_register
        from campaign.switches import paused_source_register
        from petitions import checks, emails, export_kinds, metrics  # noqa: F401 - checks, mail builders, exports, counters
        from petitions.privacy import signature_addresses, signatures_erase, signatures_export
        from petitions.selectors import petitions_paused_slugs
        from petitions.signing import SIGNATURE_SUBJECT_TYPE

        paused_source_register("petitions", petitions_paused_slugs)
        eraser_register("petitions", signatures_erase)
        exporter_register("petitions", signatures_export)
        subscriber_address_resolver_register(SIGNATURE_SUBJECT_TYPE, signature_addresses)
