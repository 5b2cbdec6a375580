"""Open311 GeoReport v2 (JSON and XML) beside the native API, with FixMyStreet's servicerequestupdates."""
