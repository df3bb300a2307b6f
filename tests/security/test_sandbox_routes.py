"""The sandbox platform's demo helper routes.

Reproduced before the fix: `/_sandbox/ledger` showed every settlement request the sandbox had
received (case numbers, facts, claims) and `POST /_sandbox/answer/<case_no>` made the sandbox
send any signed answer (accept, counter-offer) for any case, to anyone who could reach port 8100,
in the scaled profile too. Now they need the local token (header X-Sandbox-Token) and do not
exist in the scaled profile.
"""

from __future__ import annotations

import stat

import pytest

TOKEN = "local-helper-token-7c1e"


@pytest.fixture
def sandbox(monkeypatch):
    from sandbox.app import create_app

    def make(**config):
        return create_app({"SECRET": "sandbox-test-secret", "API_BASE": "http://127.0.0.1:9/api/platform/v1",
                           "POLICIES": {"rules": []}, "HELPER_TOKEN": TOKEN, **config}).test_client()

    monkeypatch.delenv("ODR_PROFILE", raising=False)
    return make


def test_helper_routes_need_the_local_token(sandbox) -> None:
    client = sandbox()
    for headers in ({}, {"X-Sandbox-Token": "guess"}, {"X-Sandbox-Token": ""}):
        ledger = client.get("/_sandbox/ledger", headers=headers)
        assert ledger.status_code == 403 and "X-Sandbox-Token" in ledger.json["error"]["message"]
        sent = client.post("/_sandbox/answer/ODR-20260501-0001", json={"action": "accept"}, headers=headers)
        assert sent.status_code == 403
    assert client.get("/_sandbox/ledger", headers={"X-Sandbox-Token": TOKEN}).json == {
        "received": [], "processed": {}, "answers": []}


def test_helper_routes_are_not_part_of_the_scaled_profile(sandbox, monkeypatch) -> None:
    monkeypatch.setenv("ODR_PROFILE", "scaled")
    client = sandbox()
    assert client.get("/_sandbox/ledger", headers={"X-Sandbox-Token": TOKEN}).status_code == 404
    assert client.post("/_sandbox/answer/ODR-20260501-0001", json={"action": "accept"},
                       headers={"X-Sandbox-Token": TOKEN}).status_code == 404
    assert client.get("/").status_code == 200  # the platform itself still runs


def test_the_local_token_is_private_and_stable(monkeypatch, tmp_path) -> None:
    import sandbox.app as sandbox_app

    path = tmp_path / "var" / "sandbox_helper_token"
    monkeypatch.setattr(sandbox_app, "HELPER_TOKEN_FILE", path)
    monkeypatch.delenv("SANDBOX_HELPER_TOKEN", raising=False)
    token = sandbox_app.helper_token()
    assert len(token) >= 32 and sandbox_app.helper_token() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("SANDBOX_HELPER_TOKEN", "from-env")
    assert sandbox_app.helper_token() == "from-env"
