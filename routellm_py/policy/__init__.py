"""Routing policies beyond a fixed threshold: online budgets (`budget`), shared state."""
