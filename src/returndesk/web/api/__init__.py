"""JSON API routes, version 1."""
