"""A bug in the console ends it with one line on the terminal; the traceback goes to the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.console.tui import app as app_module
from dcops.console.tui.app import DcopsApp, log_path
from dcops.console.tui.screens.fleet import FleetScreen


def test_unhandled_error_is_one_line_and_logged(config, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(self) -> None:  # noqa: ANN001
        raise ValueError("simulated bug")

    monkeypatch.setattr(FleetScreen, "action_open_node", bug)

    class Crashing(DcopsApp):
        async def on_ready(self) -> None:
            await self.wait_engine()
            self.set_timer(0.2, lambda: self.simulate_key("n"))

    app_module._setup_logging()
    app = Crashing(config(), principal="unix:alice")
    app.run(headless=True, size=(160, 50))
    err = capsys.readouterr().err
    assert app.return_code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"dcops: internal error: ValueError: simulated bug (traceback in {log_path()})"]
    log = Path(log_path()).read_text()
    assert "Traceback (most recent call last)" in log and "simulated bug" in log
