"""Fixtures for the service tests: the held-out CEDAR signers of the CLI tests."""

from tests.cli.conftest import cedar  # noqa: F401
