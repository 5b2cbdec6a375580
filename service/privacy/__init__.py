"""Privacy: residents' contacts kept only as long as needed (retention.py, `hazard-snap privacy sweep`)."""
