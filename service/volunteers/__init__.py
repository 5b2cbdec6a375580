"""Volunteers: the registry, the roster import/export, the service-hour ledger and star levels.

The blueprint lives in views.py, as in every area package.
"""
