"""The native API's machine-readable description (OpenAPI 3.1 at /api/v1/openapi.json) and its docs page."""
