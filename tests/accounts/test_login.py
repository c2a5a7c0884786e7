from __future__ import annotations

from typing import Any

from svea_web.accounts.models import User
from svea_web.extensions import db


def test_pages_require_login_and_send_to_login_page(client: Any) -> None:
    response = client.get("/ledger/posts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_then_the_ledger_is_shown(client: Any, auth: Any, firm: Any) -> None:
    response = auth.login(firm.admin)
    assert response.status_code == 302
    page = client.get("/ledger/posts")
    assert page.status_code == 200
    assert "Kundeposter" in page.get_data(as_text=True)
    assert "Nordlys Rørlegger AS" in page.get_data(as_text=True)


def test_wrong_password_says_so_without_telling_which_part(client: Any, auth: Any, firm: Any) -> None:
    response = auth.login(firm.admin, password="feil")
    assert response.status_code == 401
    assert "Feil e-post eller passord." in response.get_data(as_text=True)


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(client: Any, auth: Any, firm: Any) -> None:
    for _ in range(5):
        auth.login(firm.admin, password="feil")
    response = auth.login(firm.admin)
    assert response.status_code == 401
    assert "låst" in response.get_data(as_text=True)


def test_logout_invalidates_the_session_cookie(client: Any, auth: Any, firm: Any) -> None:
    auth.login(firm.admin)
    cookie = client.get_cookie("session")
    assert cookie is not None
    auth.logout()
    # Replaying the old session cookie does not log back in: the session token changed.
    client.set_cookie("session", cookie.value)
    assert client.get("/ledger/posts").status_code == 302


def test_password_is_hashed_with_scrypt(app: Any, firm: Any) -> None:
    user = db.session.get(User, firm.admin.id)
    assert user is not None
    assert user.password_hash.startswith("scrypt:")


def test_login_is_rate_limited(app_config: dict[str, Any], tmp_path: Any) -> None:
    from svea_web import create_app

    app_config = {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}
    application = create_app(app_config)
    with application.app_context():
        db.create_all()
        client = application.test_client()
        codes = [client.post("/login", data={"email": "x@y.no", "password": "z"}).status_code for _ in range(5)]
        db.drop_all()
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_a_user_switches_between_their_client_firms(client: Any, auth: Any, make_firm: Any) -> None:
    from svea_web.accounts import services

    first = make_firm("Første AS")
    second = make_firm("Andre AS")
    services.add_member(first.admin, second.client, "user")
    db.session.commit()
    auth.login(first.admin)
    assert "Første AS" in client.get("/ledger/posts").get_data(as_text=True)
    client.post("/client/switch", data={"client_id": second.client.id})
    page = client.get("/ledger/posts").get_data(as_text=True)
    assert f'<option value="{second.client.id}" selected>Andre AS' in page


def test_switching_firm_stays_on_the_same_page_but_not_on_the_old_firms_records(
    client: Any, auth: Any, make_firm: Any
) -> None:
    from svea_web.accounts import services

    first, second = make_firm("Første AS"), make_firm("Andre AS")
    services.add_member(first.admin, second.client, "user")
    db.session.commit()
    auth.login(first.admin)
    for came_from, lands_on in [
        ("http://localhost/collection/open?sort=customer", "/collection/open"),
        ("http://localhost/ledger/customers/12?page=2", "/ledger/customers"),
        ("http://localhost/dunning/", "/dunning/"),
        ("http://localhost/payments/7", "/payments/"),
        ("https://evil.example/ledger/posts", "/"),
        (None, "/"),
    ]:
        headers = {"Referer": came_from} if came_from else {}
        response = client.post("/client/switch", data={"client_id": second.client.id}, headers=headers)
        assert response.status_code == 302
        assert response.headers["Location"] == lands_on, came_from


def test_switching_to_a_firm_one_does_not_belong_to_is_404(client: Any, auth: Any, make_firm: Any) -> None:
    mine = make_firm()
    other = make_firm()
    auth.login(mine.admin)
    assert client.post("/client/switch", data={"client_id": other.client.id}).status_code == 404
