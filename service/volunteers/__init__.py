"""Volunteers: the registry and profile edits, the roster import/export, the service-hour ledger, star levels,
the volunteer's tasks (tasks.py: every task source in one page), certificates and hour exports.

The JSON API lives in views.py and the phone pages (/me, /me/tasks, certificates) in pages.py.
"""


def subscribe() -> None:
    """Credit a volunteer's verified report with service hours (called by create_app)."""
    from service.core import events
    from service.volunteers import ledger

    events.subscribe(events.ReportMoved, ledger.report_moved)
