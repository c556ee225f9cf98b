"""Adapters: the outside world behind the small interfaces of services/ports.py."""
