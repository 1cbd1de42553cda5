"""Report builders: pure functions from a (scoped) programme queryset and parameters to a file, one module per
format (records.py streams the programmes they share)."""
