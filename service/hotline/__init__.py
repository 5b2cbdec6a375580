"""The 12345 hotline, both ways (issue 24): work orders come in (Open311 with the hotline's key, or its batch
file), are signed for or returned (签收/退回) within their windows, answered when closed (答复, through the
outbox), and the caller is asked whether they are satisfied (回访), which may reopen the report once (复核)."""


def subscribe() -> None:
    """Take the return move's reason, follow the orders' reports, deliver replies (create_app)."""
    from service.core import events
    from service.hotline import callbacks, replies, signing
    from service.notify import outbox
    from service.reports import moves

    moves.prepare_with("rejected", signing.prepare_reject)
    events.subscribe(events.ReportMoved, signing.report_moved)
    events.subscribe(events.ReportMoved, callbacks.report_moved)
    outbox.register_channel(replies.CHANNEL, replies.deliver)
