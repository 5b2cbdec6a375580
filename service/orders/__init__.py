"""三单 service orders: a resident orders a service (点单), the town dispatches it (派单), a volunteer
accepts it (接单).

The blueprints live in views.py (pages) and api.py (JSON), as in every area package.
"""


def subscribe() -> None:
    """Put the orders a volunteer accepted on their tasks page (called by create_app)."""
    from service.orders import queries
    from service.volunteers import tasks

    tasks.register("order", tasks.TaskSource(queries.task_rows, queries.load_tasks, "orders/_task_order.html"))
