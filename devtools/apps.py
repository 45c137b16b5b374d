from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tooling, not product code: the local run (`manage.py run_local`) and the
    launcher of the local Stripe stand-in it and the tests use."""

    name = "devtools"
    verbose_name = "Development tools"
