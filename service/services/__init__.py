"""Service functions: each owns one transaction and calls the core."""
