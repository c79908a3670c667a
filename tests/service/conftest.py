"""Fixtures for the service tests: the CEDAR scans and SVC2004 pen files of the CLI tests."""

from tests.cli.conftest import cedar, svc  # noqa: F401
