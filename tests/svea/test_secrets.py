"""The Svea password never shows: not in the client's repr, not in any error, not in the logs."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from svea_web.sandbox.testing import RunningSandbox
from svea_web.svea import CloseReason, SveaClient, SveaError

from .conftest import DEMO_PASSWORD, open_case, submission


def test_client_repr_and_str_hide_the_password(client: SveaClient) -> None:
    assert DEMO_PASSWORD not in repr(client)
    assert DEMO_PASSWORD not in str(client)
    assert "demo-regnskap" in repr(client)


def test_no_error_or_log_line_carries_the_password(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = make_client()
    wrong_password = make_client(password=DEMO_PASSWORD + "-gammelt")
    number = open_case(good, sandbox)
    errors: list[SveaError] = []

    def collect(call: Callable[[], object]) -> None:
        try:
            call()
        except SveaError as error:
            errors.append(error)

    collect(wrong_password.ping)
    collect(lambda: good.get_case("404"))
    collect(lambda: good.report_direct_payment(number, Decimal("99999.00"), date.today(), None, "p"))
    for fault in ("error", "malformed", "wrong_shape", "unauthorized"):
        sandbox.set_faults(rates={fault: 1.0})
        collect(good.ping)
        collect(lambda: good.submit_case(submission(), "case-x"))
    sandbox.clear_faults()
    good.close_case(number, CloseReason.OTHER, "c-1")
    collect(lambda: good.close_case(number, CloseReason.OTHER, "c-2"))

    assert len(errors) == 12
    for error in errors:
        rendered = "".join(traceback.format_exception(error))
        assert DEMO_PASSWORD not in rendered
        assert DEMO_PASSWORD not in repr(error)
    assert caplog.records, "the client logs its calls"
    assert DEMO_PASSWORD not in caplog.text
