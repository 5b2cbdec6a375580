"""The web layer shared by every area's views.py and api.py: what reads and guards a request before any domain
function runs (docs/architecture.md). Domain modules never import it."""
