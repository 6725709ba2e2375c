"""Outside development and tests the app refuses to start with a missing, default or weak secret."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from webapp import create_app
from webapp.config import DEVELOPMENT_SECRET
from webapp.errors import InsecureConfiguration

STRONG = {"SECRET_KEY": secrets.token_hex(32), "JWT_SECRET_KEY": secrets.token_urlsafe(32)}
NON_DEVELOPMENT = ["production", "Production", " PRODUCTION ", "prod", "staging", "qa"]
WEAK_SECRETS = {
    "missing": "",
    "development secret": DEVELOPMENT_SECRET,
    "one character": "x",
    "31 characters": secrets.token_hex(16)[:31],
    "one repeated character": "s" * 64,
    "two alternating characters": "ab" * 32,
}


@pytest.fixture
def config(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in ("SECRET_KEY", "JWT_SECRET_KEY", "RAGKIT_ENV"):
        monkeypatch.delenv(name, raising=False)
    return {**app_config, **STRONG}


@pytest.mark.parametrize("environment", NON_DEVELOPMENT)
@pytest.mark.parametrize("setting", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("secret", WEAK_SECRETS.values(), ids=WEAK_SECRETS.keys())
def test_non_development_environments_refuse_weak_secrets(
    config: dict[str, Any], environment: str, setting: str, secret: str
) -> None:
    refusal = f"RAGKIT_ENV={environment.strip().lower()} refuses {setting}: it is "
    with pytest.raises(InsecureConfiguration, match=refusal) as refused:
        create_app({**config, "RAGKIT_ENV": environment, setting: secret})

    message = str(refused.value)
    assert setting in message
    assert environment.strip().lower() in message
    if len(secret) > 8:
        assert secret not in message, "the refusal must not echo the secret"


@pytest.mark.parametrize("environment", NON_DEVELOPMENT)
def test_non_development_environments_refuse_the_default_secrets(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    defaults = {key: value for key, value in app_config.items() if "SECRET" not in key}

    with pytest.raises(InsecureConfiguration, match="development secret"):
        create_app({**defaults, "RAGKIT_ENV": environment})


@pytest.mark.parametrize("environment", NON_DEVELOPMENT)
def test_non_development_environments_start_with_strong_secrets(
    config: dict[str, Any], environment: str
) -> None:
    app = create_app({**config, "RAGKIT_ENV": environment})

    assert app.config["RAGKIT_ENV"] == environment.strip().lower()


@pytest.mark.parametrize("environment", ["development", "Development ", "test", " TEST"])
def test_development_and_test_start_with_the_development_secret(
    config: dict[str, Any], environment: str
) -> None:
    app = create_app(
        {
            **config,
            "RAGKIT_ENV": environment,
            "SECRET_KEY": DEVELOPMENT_SECRET,
            "JWT_SECRET_KEY": DEVELOPMENT_SECRET,
        }
    )

    assert app.config["JWT_SECRET_KEY"] == DEVELOPMENT_SECRET


def test_a_forged_token_signed_with_the_development_secret_cannot_reach_production(
    config: dict[str, Any],
) -> None:
    refusal = "RAGKIT_ENV=production refuses JWT_SECRET_KEY: it is the development secret"
    with pytest.raises(InsecureConfiguration, match=refusal):
        create_app({**config, "RAGKIT_ENV": "Production", "JWT_SECRET_KEY": DEVELOPMENT_SECRET})
