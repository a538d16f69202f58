"""oyster_agents.redact: the one place that finds and masks credentials (backends, runner, telemetry)."""

from __future__ import annotations

from pydantic import SecretStr

from oyster_agents.redact import MASK, credentials, mask_url_credentials, redact, safe_url, url_secrets

URL = "http://alice:s3cr3t-pass@models.local:8000/v1?token=abc"


def test_credentials_are_the_key_and_the_user_info_of_the_url():
    assert credentials(SecretStr("sk-live-123456"), URL) == ["sk-live-123456", "s3cr3t-pass", "alice"]
    assert credentials("plain-key-text", None) == ["plain-key-text"]
    assert credentials(SecretStr(""), "http://models.local/v1") == []
    assert credentials(None, None) == []


def test_short_user_names_are_not_secrets_worth_masking():
    assert url_secrets("http://bob:pw@host/") == []  # under four characters: masking would shred text
    assert url_secrets("https://user@host/") == ["user"]


def test_redact_masks_given_secrets_and_credential_shapes():
    text = f"POST {URL} failed: Authorization: Bearer abcdefgh123, api_key=zzzz9999, key sk-live-123456"
    out = redact(text, credentials(SecretStr("sk-live-123456"), URL))
    for secret in ("s3cr3t-pass", "alice", "abcdefgh123", "zzzz9999", "sk-live-123456"):
        assert secret not in out
    assert out.count(MASK) >= 5
    assert "models.local:8000/v1" in out


def test_urls_for_logs_and_dumps():
    assert safe_url(URL) == "http://models.local:8000/v1"
    assert mask_url_credentials(URL) == "http://***@models.local:8000/v1?token=abc"
    assert mask_url_credentials("http://models.local/v1") == "http://models.local/v1"
    assert mask_url_credentials(None) is None
