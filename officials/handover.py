"""The staff download of the handover report, recorded in the export log."""

from __future__ import annotations

from typing import Any

from campaign.exceptions import ApplicationError
from officials.models import Constituency


def handover_report_download(
    *,
    petition: Any,
    user: Any,
    constituency: int | None = None,
    names: bool = False,
    table: str = "state",
    locale: str = "de",
) -> bytes:
    """Renders the handover report for staff and records the download in the export log
    (who, when, which options), since it can carry names."""
    # Imported here: the report pulls in fpdf, which only this staff download needs.
    from campaign.exports import export_log_finish, export_log_start
    from officials.reports import ReportOptions, handover_report_render

    chosen = None
    if constituency is not None:
        chosen = Constituency.objects.filter(pk=constituency).first()
        if chosen is None:
            raise ApplicationError(
                "Unknown constituency.", fields={"constituency": ["No constituency with this id."]}
            )
    filters = {"petition": petition.slug, "constituency": constituency, "names": names, "table": table}
    log = export_log_start(user=user, kind="officials.handover_report", format="pdf", filters=filters)
    pdf = handover_report_render(
        petition=petition,
        options=ReportOptions(constituency=chosen, include_names=names, table=table, locale=locale),
    )
    export_log_finish(export_log_id=log.pk, row_count=petition.signature_count, finished=True)
    return pdf
