"""Providers: one module per wire protocol behind the interface in base.py."""
