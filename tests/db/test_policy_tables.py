"""The policy reads in one place: every visibility rule (scope.describe) and every event subscription
(events.describe), as `hazard-snap scope` and `hazard-snap events` print them."""
from service.accounts import scope
from service.core import events


def test_every_areas_visibility_rule_is_listed_where_it_is_stated(app):
    rules = dict(scope.describe())
    for name in ("service.accounts.scope.visible", "service.orders.models.visible_orders",
                 "service.orders.models.order_contact", "service.sites.models.visible_sites",
                 "service.volunteers.queries.directed"):
        assert rules.get(name), f"{name} is not a described rule"
    assert all(said for said in rules.values())  # each says what it lets see, in its docstring's first line
    printed = app.test_cli_runner().invoke(args=["scope"])
    assert printed.exit_code == 0 and "service.orders.models.order_contact\t" in printed.output


def test_the_subscriptions_table_names_each_areas_handlers(app):
    printed = app.test_cli_runner().invoke(args=["events"])
    assert printed.exit_code == 0, printed.output
    table = events.describe()
    assert ("ReportMoved", "service.volunteers.ledger.report_moved") in table
    assert len(printed.output.splitlines()) == len(table) > 3
