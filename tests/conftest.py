"""Suite-wide rules.

Under CI (``CI=true``) a skipped or xfailed test fails the run: CI never silently accepts a
test that did not run or whose assertion did not hold.
"""

from __future__ import annotations

import os

import pytest

_not_run: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:  # skips and xfails both report as skipped
        _not_run.append(f"{report.nodeid}: {'xfail' if hasattr(report, 'wasxfail') else 'skipped'}")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI") == "true" and _not_run and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get("CI") == "true" and _not_run:
        terminalreporter.write_line(f"CI=true: {len(_not_run)} test(s) did not run or xfailed, failing the run:",
                                    red=True)
        for line in _not_run:
            terminalreporter.write_line(f"  {line}", red=True)
