"""The session cookie is Secure by default; only the local demo (ODR_DEMO=1) served on
http://127.0.0.1 or localhost gets it without the flag. HSTS is sent whenever the app is served
over https (directly or behind a trusted proxy that says so)."""

from __future__ import annotations

import pytest


def make_app(database_url: str, tmp_path, **config):
    from web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "cookie-test", "DATABASE_URL": database_url,
                       "RASA_URL": "http://127.0.0.1:9", "UPLOAD_DIR": str(tmp_path / "uploads"), **config})


def session_cookie(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, resp.headers
    return cookies[0]


@pytest.fixture(autouse=True)
def no_cookie_env(monkeypatch):
    for name in ("ODR_DEMO", "ODR_COOKIE_SECURE", "ODR_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)


def test_secure_by_default(database_url, tmp_path):
    client = make_app(database_url, tmp_path).test_client()
    cookie = session_cookie(client.get("/"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_not_secure_only_for_the_local_demo_over_http(database_url, tmp_path, base_url):
    client = make_app(database_url, tmp_path, DEMO=True).test_client()
    cookie = session_cookie(client.get("/", base_url=base_url,
                                       environ_overrides={"REMOTE_ADDR": "::1" if "[" in base_url else "127.0.0.1"}))
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_demo_mode_from_the_environment(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ODR_DEMO", "1")
    assert "Secure" not in session_cookie(make_app(database_url, tmp_path).test_client().get("/"))
    monkeypatch.setenv("ODR_COOKIE_SECURE", "1")  # the operator insists
    assert "Secure" in session_cookie(make_app(database_url, tmp_path).test_client().get("/"))


@pytest.mark.parametrize(("base_url", "remote"), [
    ("https://127.0.0.1", "127.0.0.1"),  # the demo over https
    ("http://odr.example.com", "127.0.0.1"),  # a public name, behind a local proxy
    ("http://127.0.0.1", "203.0.113.7"),  # a Host header that claims loopback from outside
])
def test_demo_elsewhere_is_secure(database_url, tmp_path, base_url, remote):
    client = make_app(database_url, tmp_path, DEMO=True).test_client()
    assert "Secure" in session_cookie(client.get("/", base_url=base_url, environ_overrides={"REMOTE_ADDR": remote}))


def test_hsts_only_over_https(database_url, tmp_path):
    client = make_app(database_url, tmp_path).test_client()
    assert "Strict-Transport-Security" not in client.get("/").headers
    hsts = client.get("/", base_url="https://odr.example.com").headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts


def test_hsts_behind_a_trusted_proxy(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ODR_TRUSTED_PROXIES", "1")
    client = make_app(database_url, tmp_path).test_client()
    resp = client.get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"})
    assert "max-age=" in resp.headers["Strict-Transport-Security"] and "Secure" in session_cookie(resp)
    assert "Strict-Transport-Security" not in client.get("/").headers
