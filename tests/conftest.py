"""Shared pytest configuration: the ``lab`` fixture (endpoints of the local lab,
started once per test session) and its session hooks live in lab/pytest_plugin.py."""

pytest_plugins = ("lab.pytest_plugin",)
