"""Residents follow their report: a receipt with a private tracking link, updates by e-mail or text, a rating."""


def subscribe() -> None:
    """Tell residents of their report's moves (called by create_app)."""
    from service.core import events
    from service.receipts import notices

    events.subscribe(events.ReportMoved, notices.report_moved)
