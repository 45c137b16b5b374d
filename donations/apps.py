from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"
    verbose_name = "Donations"

    def ready(self) -> None:
        from campaign.privacy.access import exporter_register
        from campaign.privacy.erasure import eraser_register

        # Registers the mail builders (cancel links, receipt PDFs).
        from donations import donor_access, emails, export_kinds, receipts  # noqa: F401
        from donations.privacy import donor_erase, donor_export

        eraser_register("donations", donor_erase)
        exporter_register("donations", donor_export)

        from campaign.metrics import gauge_source_register
        from donations.metrics import stripe_event_gauges

        gauge_source_register("stripe_events", stripe_event_gauges)
