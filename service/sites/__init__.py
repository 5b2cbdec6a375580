"""Key sites, inspection rounds, monthly campaigns and the recurrence of fixed hazards.

The blueprint lives in views.py, as in every area package.
"""
