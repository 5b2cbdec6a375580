"""Domain events and the one table of who reacts to them (cosmicpython's EVENT_HANDLERS).

A domain function publishes an event inside its transaction; every subscribed handler runs at once, in the same
transaction and in the order subscribed, so what a handler writes commits or rolls back with the change that
caused it, and a handler that raises refuses the change. Each area subscribes its own handlers when the app is
made (its package's `subscribe()`, called by create_app), so the publisher never names them.
"""
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HANDLERS: dict[type, list[Callable]] = defaultdict(list)


@dataclass(frozen=True)
class ReportPrepared:
    """A new report is about to be stored: a handler may amend it and return events to record after its first."""

    report: Any
    lon: float
    lat: float


@dataclass(frozen=True)
class ReportCreated:
    """A new report and its first event were flushed (intake)."""

    report: Any
    event: Any


@dataclass(frozen=True)
class ReportMoved:
    """A report made one transition of the workflow (its event is flushed; report.status is the new one)."""

    report: Any
    event: Any
    from_status: str
    to_status: str


@dataclass(frozen=True)
class ReportReassigned:
    """A supervisor put a report under another committee by hand."""

    report: Any
    event: Any


@dataclass(frozen=True)
class ReportEscalated:
    """An overdue report was escalated to a level, "town" or "district" (its event is added)."""

    report: Any
    event: Any
    level: str


@dataclass(frozen=True)
class BoundariesChanged:
    """A boundary import changed the ground of some committees (their pieces are in boundary_change)."""

    generation: int
    level: str


def subscribe(event_type: type, handler: Callable) -> None:
    """Call handler(event) whenever an event of this type is published; subscribing twice is a no-op."""
    if handler not in HANDLERS[event_type]:
        HANDLERS[event_type].append(handler)


def publish(event) -> list:
    """Run every handler of the event's type, in order; return what each returned."""
    return [handler(event) for handler in HANDLERS.get(type(event), ())]


def describe() -> list[tuple[str, str]]:
    """Every subscription as (event, handler's module.name), in the order they run."""
    return [(kind.__name__, f"{h.__module__}.{h.__qualname__}") for kind, handlers in HANDLERS.items()
            for h in handlers]
