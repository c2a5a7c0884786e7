"""schemathesis drives the sandbox with requests generated from docs/svea-protocol.openapi.yaml.

Every answer must be no server error, have a status and content type the document declares, match the
declared schema, and refuse requests without credentials. The sandbox confirms at once and sends letters
at once here, so generated cases walk the whole agency: decisions, letters, amounts.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from svea_web.sandbox.testing import running_sandbox

from .conftest import DEMO_PASSWORD

with warnings.catch_warnings():
    # schemathesis 3 uses jsonschema's deprecated RefResolver and its own deprecated arguments internally.
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis.checks import ALL_CHECKS

# The document's own string formats, as ready strategies: hypothesis-jsonschema would otherwise build a
# regex strategy from each pattern on every draw, which makes generation crawl.
for name, pattern in {
    "money": r"[0-9]{1,11}(\.[0-9]{1,2})?",
    "kid": r"[0-9]{1,24}[0-9-]",
    "digits": r"[0-9]{1,9}",
    "country-code": r"[A-Z]{2}",
    "idempotency-key": r"[!-~]{1,40}",
}.items():
    schemathesis.openapi.format(name, st.from_regex(pattern, fullmatch=True))

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "svea-protocol.openapi.yaml"
CREDENTIALS = {
    "Authorization": "Basic " + base64.b64encode(f"demo-regnskap:{DEMO_PASSWORD}".encode()).decode(),
    "X-Svea-Customer-No": "10042",
}


@pytest.fixture(scope="module")
def protocol_schema() -> Iterator[Any]:
    with running_sandbox(CONFIRM_DELAY_SECONDS=0, FIRST_LETTER_DELAY_SECONDS=0, REPLY_DELAY_SECONDS=0) as sandbox:
        sandbox.bulk_seed("10042", 3)  # case 40000001 (the document's example) exists, with a letter
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield schemathesis.from_path(str(PROTOCOL), base_url=sandbox.url)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    schema = schemathesis.from_pytest_fixture("protocol_schema")
    # A case submission is a deep document, slow for hypothesis-jsonschema to generate: fewer examples of
    # it keep the suite quick.
    submissions = schema.include(method="POST", path="/api/v1/cases").parametrize()
    other_operations = schema.exclude(method="POST", path="/api/v1/cases").parametrize()


def answer_as_the_protocol_says(case: schemathesis.Case) -> None:
    case.headers = {**(case.headers or {}), **CREDENTIALS}

    response = case.call()

    case.validate_response(response, checks=ALL_CHECKS)


@submissions
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_sandbox_answers_generated_case_submissions_as_the_protocol_says(case: schemathesis.Case) -> None:
    answer_as_the_protocol_says(case)


@other_operations
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_sandbox_answers_every_other_generated_request_as_the_protocol_says(case: schemathesis.Case) -> None:
    answer_as_the_protocol_says(case)
