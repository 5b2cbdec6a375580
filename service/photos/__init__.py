"""The photo pipeline: checks, sandboxed decode, staging, storage (local and S3), the sweep and serving."""
