"""gunicorn's settings beyond its command line (gunicorn reads this file from the working
directory): with LOG_FORMAT=json its own log lines are JSON objects too, like the app's."""

import os

from campaign.logs import logging_config

if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = logging_config(level=os.environ.get("LOG_LEVEL") or "INFO", log_format="json")
    logconfig_dict["loggers"].update(
        {"gunicorn.error": {"level": "INFO"}, "gunicorn.access": {"level": "INFO"}}
    )
