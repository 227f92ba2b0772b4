"""Secrets typed into dcops never reach the audit log, by name or by value, in any stored field:
the attacker here is a tired operator pasting a token into a reason, and whoever later reads the
log (or the database file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.redact import redact, scrub

from .cli import dcops, env_for, no_traceback

SECRETS = {
    "slack": "xoxb-2891234567-5123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack-app": "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    "github": "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "github-pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "gitlab": "glpat-abcdefghij0123456789",
}
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzv3v9Wq3UZq1y\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_token_shapes_are_masked_inside_text(kind: str) -> None:
    token = SECRETS[kind]
    out = scrub(f"xid 79 on gpu001, creds were {token} (rotated)")
    assert token not in out and "***" in out and out.startswith("xid 79 on gpu001, creds were")


@pytest.mark.parametrize(
    "text, kept",
    [
        ("password=hunter2 after reboot", "password=***"),
        ("db_password: 'hunter 2'", "db_password: ***"),
        ("TOKEN=abc123def", "TOKEN=***"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = ***"),
        ('{"client_secret": "s3cr3t"}', '{"client_secret": ***}'),
        ("curl https://admin:hunter2@bmc01/redfish", "https://admin:***@bmc01"),
        ("Authorization: Bearer abcdefgh12345678", "Bearer ***"),
        ("api-key=0123456789abcdef", "api-key=***"),
    ],
)
def test_key_value_secrets_keep_the_key(text: str, kept: str) -> None:
    out = scrub(text)
    assert kept in out and "hunter2" not in out and "s3cr3t" not in out and "abc123def" not in out


def test_pem_private_key_is_masked_whole() -> None:
    out = scrub(f"pasted:\n{PEM}\nsorry")
    assert "MIIE" not in out and "PRIVATE KEY" not in out and out.endswith("sorry")


@pytest.mark.parametrize(
    "text",
    [
        "xid 79 on gpu[001-004]",
        "approval a-1f2e pending",
        "r20261204-053054-8b72b8",
        "2026-12-04T05:00:01.000000+00:00",
        "allowed: unix:root has role admin (drain on the whole cluster)",
        "sha256:" + "ab" * 32,
        "drained 4 nodes; reason: maintenance",
        "firmware BMC 1.2.3 -> 1.2.4",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert scrub(text) == text


def test_argv_secret_options_mask_their_value() -> None:
    argv = ["drain", "gpu001", "--reason", "x", "--password", "hunter2", "--token=abc", "--api-key", "k"]
    assert redact({"argv": argv})["argv"] == [
        "drain",
        "gpu001",
        "--reason",
        "x",
        "--password",
        "***",
        "--token=***",
        "--api-key",
        "***",
    ]


def test_secrets_never_reach_the_database(tmp_path: Path) -> None:
    """Through the real CLI: a reason, an invalid command's argv, and an error message quoting input."""
    env = env_for(tmp_path)
    tokens = list(SECRETS.values())
    ok = dcops(env, "--demo", "run", "drain", "gpu001", "--reason", f"password=hunter2 see {tokens[0]} {tokens[4]}")
    assert ok.returncode == 0, ok.stderr
    bad = dcops(env, "--demo", "run", "drain", "gpu002", "--reason", "x", "--password", "hunter2", tokens[2])
    no_traceback(bad)
    assert bad.returncode == 2
    unknown = dcops(env, "--demo", "run", tokens[1], "--secret=hunter2")
    no_traceback(unknown)
    export = dcops(env, "--demo", "audit", "export").stdout
    assert "drain" in export and '"event":"invalid"' in export
    blobs = export + "".join(
        p.read_bytes().decode("latin-1") for p in (tmp_path / "data").rglob("*.db*") if p.is_file()
    )
    for secret in ["hunter2", *tokens]:
        assert secret not in blobs, secret
