"""Importers: read orders from platform exports into service inputs."""
