"""Intake, photos and storage, duplicates, the workflow table, moves, deadlines and escalation."""


def subscribe() -> None:
    """Word and queue the notifications of the reports' own events (called by create_app)."""
    from service.core import events
    from service.reports import notices, reassign

    events.subscribe(events.ReportCreated, notices.report_created)
    events.subscribe(events.ReportMoved, notices.report_moved)
    events.subscribe(events.ReportReassigned, notices.report_reassigned)
    events.subscribe(events.ReportEscalated, notices.report_escalated)
    events.subscribe(events.BoundariesChanged, reassign.boundaries_changed)
