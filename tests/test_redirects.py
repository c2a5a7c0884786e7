"""A form's ``next`` leads only to a path on this site."""

from __future__ import annotations

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
