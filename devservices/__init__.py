"""Servers for development and tests on a machine that has none: PostgreSQL and Redis.

Only `make run` (scripts/run.py) and the test suite import this package. Its dependencies
live in requirements-dev.txt, and the production image neither installs nor copies it.
"""
