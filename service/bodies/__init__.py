"""Bodies outside the programme (issue 24): property managers, utilities, departments and hotlines that own some
hazards, with the areas and categories they take, their channel and their deadlines."""


def subscribe() -> None:
    """Offer the transfer move, keep its rows with the report's moves, deliver through the outbox (create_app)."""
    from service.bodies import transfers
    from service.core import events
    from service.notify import outbox
    from service.reports import moves

    moves.prepare_with("transferred", transfers.prepare)
    events.subscribe(events.ReportMoved, transfers.report_moved)
    outbox.register_channel(transfers.CHANNEL, transfers.deliver)
