"""三单 service orders: a resident orders a service (点单), the town dispatches it (派单), a volunteer
accepts it (接单).

The blueprints live in views.py (pages) and api.py (JSON), as in every area package.
"""
