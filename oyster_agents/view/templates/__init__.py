"""Jinja2 templates of the trace view (a package so the wheel ships them as package data)."""
