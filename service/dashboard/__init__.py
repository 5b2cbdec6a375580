"""The dashboard: figures over the whole table for supervisors, as a page with charts and as JSON.

The blueprint lives in views.py, as in every area package; the report figures come from the trigger-kept cubes
(cube.py), and each block of the page is a section (sections.py), so a new area adds its figures in one place.
"""
