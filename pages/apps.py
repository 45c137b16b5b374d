from django.apps import AppConfig


class PagesConfig(AppConfig):
    """Composes the apps: the demo landing page, the widget config, the campaign detail
    endpoint and the demo data. Only this app (and the project urls) may know them all."""

    name = "pages"
    label = "pages"
    verbose_name = "Pages"
