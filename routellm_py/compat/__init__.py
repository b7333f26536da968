"""Adapters that load routers trained by other projects into this project's router objects."""
