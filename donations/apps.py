from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"
    verbose_name = "Donations"

    def ready(self) -> None:
        # Registers the mail builders (cancel links, receipt PDFs).
        from donations import donor_access, emails, receipts  # noqa: F401
