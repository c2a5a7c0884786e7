"""A form's ``next`` leads only to a path on this site."""

from __future__ import annotations

from typing import Any

import pytest

from svea_web.redirects import local_path


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("/dunning/", "/dunning/"),
        ("/ledger/posts?filter=overdue&page=2#rows", "/ledger/posts?filter=overdue&page=2#rows"),
        ("/", "/"),
        (None, None),
        ("", None),
        ("dunning/", None),
        ("https://evil.example/", None),
        ("http:/evil.example", None),
        ("javascript:alert(1)", None),
        ("//evil.example/", None),
        ("///evil.example/", None),
        ("/\\evil.example/", None),
        ("/\\/evil.example/", None),
        ("/\t/evil.example/", None),
        ("/\n/evil.example/", None),
        ("/dunning/\r\nSet-Cookie: x=1", None),
        ("\t//evil.example/", None),
    ],
)
def test_only_a_path_on_this_site_is_allowed(target: str | None, allowed: str | None) -> None:
    assert local_path(target) == allowed


@pytest.mark.parametrize(
    ("referer", "lands_on"),
    [
        ("http://localhost/ledger/posts?filter=overdue", "/ledger/posts?filter=overdue"),
        ("https://evil.example/ledger/posts", "/"),
        ("http://localhost.evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        (None, "/"),
    ],
)
def test_switching_language_goes_back_only_to_a_page_of_this_site(
    client: Any, referer: str | None, lands_on: str
) -> None:
    headers = {"Referer": referer} if referer else {}
    response = client.post("/language/en", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on
