"""The console's browser tests: the browser fixtures of :mod:`tests.console.browser`."""

from tests.console.browser import browser, context, page, screenshot  # noqa: F401 - fixtures
