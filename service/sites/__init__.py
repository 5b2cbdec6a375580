"""Key sites, inspection rounds, monthly campaigns and the recurrence of fixed hazards.

The blueprint lives in views.py, as in every area package.
"""


def subscribe() -> None:
    """Link each new report to its key site and to the report it repeats (called by create_app)."""
    from service.core import events
    from service.sites import linking

    events.subscribe(events.ReportPrepared, linking.report_prepared)
