"""Secret sources for backend passwords: env var, 0600 file, command; clear errors without the value."""

from __future__ import annotations

import sys

import pytest

from dcops.actions.backends.credentials import read_secret
from dcops.actions.errors import ConfigError


async def test_env_file_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv("DCOPS_TEST_BMC_PW", "s3cret-env")
    assert (await read_secret(env="DCOPS_TEST_BMC_PW")).get_secret_value() == "s3cret-env"
    f = tmp_path / "pw"
    f.touch(mode=0o600)
    f.write_text("s3cret-file\n")
    assert (await read_secret(file=str(f))).get_secret_value() == "s3cret-file"
    cmd = f"{sys.executable} -c 'print(\"s3cret-cmd\")'"
    secret = await read_secret(command=cmd)
    assert secret.get_secret_value() == "s3cret-cmd" and "s3cret" not in repr(secret)


async def test_file_readable_by_others_is_refused(tmp_path):
    f = tmp_path / "pw"
    f.write_text("s3cret\n")
    f.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others .*0644.*chmod 600"):
        await read_secret(file=str(f))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one of"),
        ({"env": "A", "file": "/x"}, "exactly one of .*password_env, password_file"),
        ({"env": "DCOPS_TEST_SURELY_UNSET"}, "DCOPS_TEST_SURELY_UNSET is not set"),
        ({"file": "/nonexistent/pw"}, "No such file"),
        ({"command": "false"}, "exited with status 1"),
        ({"command": "/nonexistent/vault"}, "cannot run"),
    ],
)
async def test_bad_sources_are_one_line_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match) as err:
        await read_secret(**kwargs)
    assert "\n" not in str(err.value)


async def test_command_output_never_in_the_error(tmp_path):
    cmd = f"{sys.executable} -c 'import sys; print(\"leaked-value\"); sys.exit(3)'"
    with pytest.raises(ConfigError) as err:
        await read_secret(command=cmd)
    assert "leaked-value" not in str(err.value) and "status 3" in str(err.value)


async def test_slow_command_times_out():
    with pytest.raises(ConfigError, match="did not finish within 1 s"):
        await read_secret(command="sleep 5", timeout=1)
