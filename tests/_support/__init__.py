"""Helpers shared by test files (importable because ``tests`` is on pytest's ``pythonpath``)."""
