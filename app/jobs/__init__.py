"""RQ entry points: thin wrappers that build the app once per worker, open a tenant scope and call
the workflow services."""
