"""Intake, photos and storage, duplicates, the workflow table, moves, deadlines and escalation."""
