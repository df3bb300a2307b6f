"""Public demo secrets are refused outside demo mode.

Reproduced before the fix: with nothing configured, the web tier verified /wechat signatures with
the public demo token `odr-demo-token` (and the platform API with the sandbox's public
`sandbox-dev-secret`), so anyone could sign a /wechat POST as any openid and read that consumer's
case status or accept their offer. Now web, worker and sandbox refuse to start with a demo value
(or with a needed secret missing) unless ODR_DEMO=1, naming the variable to set in Chinese and
English; `make run` sets ODR_DEMO=1 and says so, the scaled profile never does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid

import pytest

from tests.e2e.scaled import ENV_FILE, read_env_file, read_procfile
from tests.helpers import ROOT

SECRETS = ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_ENCODING_AES_KEY", "ODR_SANDBOX_SECRET")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A process environment as an operator would start it: not a demo, no secrets, own stores."""
    for key in (*SECRETS, "ODR_DEMO", "ODR_PLATFORMS_FILE", "ODR_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ODR_DATABASE_URL", f"sqlite:///{tmp_path / 'cases.sqlite3'}")
    monkeypatch.setenv("ODR_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("ODR_UPLOAD_DIR", str(tmp_path / "uploads"))
    return monkeypatch


def start_web(tmp_path):
    from web import create_app

    return create_app({"UPLOAD_DIR": str(tmp_path / "uploads")})


def test_web_refuses_to_start_on_demo_defaults(env, tmp_path) -> None:
    from disputes.demo import DemoSecretsRefused

    with pytest.raises(DemoSecretsRefused) as info:
        start_web(tmp_path)
    message = str(info.value)
    for variable in ("WECHAT_TOKEN", "ODR_SANDBOX_SECRET"):
        assert f"请设置环境变量 {variable}" in message and f"set the environment variable {variable}" in message
    assert "ODR_DEMO=1" in message
    assert not (tmp_path / "cases.sqlite3").exists()  # refused before touching anything


@pytest.mark.parametrize("variable,value", [
    ("WECHAT_TOKEN", "odr-demo-token"),
    ("WECHAT_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
    ("ODR_SANDBOX_SECRET", "sandbox-dev-secret"),
])
def test_web_refuses_an_explicitly_configured_demo_value(env, tmp_path, variable, value) -> None:
    from disputes.demo import DemoSecretsRefused

    env.setenv("WECHAT_TOKEN", "real-token-" + uuid.uuid4().hex)
    env.setenv("WECHAT_APP_ID", "wx0123456789abcdef")
    env.setenv("ODR_SANDBOX_SECRET", "real-secret-" + uuid.uuid4().hex)
    env.setenv(variable, value)
    with pytest.raises(DemoSecretsRefused) as info:
        start_web(tmp_path)
    assert [p.variable for p in info.value.problems] == [variable]


def test_web_starts_with_real_secrets_and_without_a_demo_aes_key(env, tmp_path) -> None:
    env.setenv("WECHAT_TOKEN", "real-token-" + uuid.uuid4().hex)
    env.setenv("ODR_SANDBOX_SECRET", "real-secret-" + uuid.uuid4().hex)
    app = start_web(tmp_path)
    assert app.config["WECHAT_TOKEN"].startswith("real-token-")
    assert app.config["WECHAT_ENCODING_AES_KEY"] == ""  # safe mode only with a key of one's own


def test_demo_mode_runs_on_demo_values_and_says_so(env, tmp_path, caplog) -> None:
    env.setenv("ODR_DEMO", "1")
    with caplog.at_level(logging.WARNING, logger="disputes.demo"):
        app = start_web(tmp_path)
    assert app.config["WECHAT_TOKEN"] == "odr-demo-token"
    said = caplog.text
    assert "ODR_DEMO=1" in said and "WECHAT_TOKEN" in said and "ODR_SANDBOX_SECRET" in said
    assert "演示" in said and "demo" in said


def test_sandbox_refuses_its_public_secret_outside_demo_mode(env) -> None:
    from disputes.demo import DemoSecretsRefused
    from sandbox.app import create_app

    with pytest.raises(DemoSecretsRefused, match="ODR_SANDBOX_SECRET"):
        create_app({"HELPER_TOKEN": "t"})
    env.setenv("ODR_SANDBOX_SECRET", "real-secret-" + uuid.uuid4().hex)
    assert create_app({"HELPER_TOKEN": "t"}).config["SECRET"].startswith("real-secret-")


def test_worker_process_refuses_to_start(env, tmp_path) -> None:
    """`python -m disputes.worker` (it signs webhooks) exits at once, saying what to set; before
    the fix it started and signed with the public secret."""
    child = {**os.environ, "ODR_QUEUE_URL": "", "ODR_QUEUE_FILE": str(tmp_path / "queue.sqlite3")}
    done = subprocess.run([sys.executable, "-m", "disputes.worker"], cwd=ROOT, env=child, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "拒绝启动" in done.stderr and "请设置环境变量 ODR_SANDBOX_SECRET" in done.stderr
    assert "set the environment variable ODR_SANDBOX_SECRET" in done.stderr


def test_make_run_is_the_demo_and_the_scaled_profile_is_not() -> None:
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    start = [line for line in dry.stdout.splitlines() if "honcho" in line]
    assert start and all("ODR_DEMO=1" in line for line in start), dry.stdout
    assert "演示" in dry.stdout and "demo secrets in use" in dry.stdout  # printed before starting
    for name, (assigned, _argv) in read_procfile(ROOT / "Procfile").items():
        if name in ("web", "sandbox", "worker"):
            assert assigned.get("ODR_DEMO") == "1", name
    scaled = read_env_file(ENV_FILE)
    assert scaled.get("ODR_DEMO") == "0"
    assert not set(scaled) & {*SECRETS, "ODR_SECRET_KEY", "PGPASSWORD", "ODR_REDIS_PASSWORD"}
    for name, (assigned, _argv) in read_procfile(ROOT / "Procfile.scaled").items():
        assert "ODR_DEMO" not in assigned, name
