"""Notifications carry device and user text as plain, inert text; a crash prints no local variables."""

from __future__ import annotations

import pytest
from test_app import WIDE, fixed_app, screen_text
from textual.widgets._toast import Toast

from conftest import SampleFleet
from edgeops.ui.live import Selection

HOSTILE = "leaf[/]\x1b[2J\x1b]52;c;cHduZWQ=\x07 [bold]x\u202e\x9b31m"


def toasts_text(app: object) -> str:
    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))  # type: ignore[attr-defined]


async def test_a_hostile_name_in_a_notification_is_shown_as_text(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.go_to(Selection("device", HOSTILE))  # "<name> is not in the inventory"
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None
        shown = toasts_text(app)
        assert "leaf[/]" in shown and "[bold]x" in shown and "is not in the inventory" in shown
        assert not any(raw in shown for raw in ("\x1b", "\x07", "\u202e", "\x9b"))
        assert "52;c;" not in screen_text(app)


async def test_every_notification_is_plain_text_whatever_the_caller_asks(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.notify(HOSTILE, title=HOSTILE, markup=True)
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None
        shown = toasts_text(app)
        assert shown.count("leaf[/]") == 2 and "\x1b" not in shown


SECRET_MARKER = "planted-secret-7f3a9c"


async def test_a_crash_prints_no_local_variables(sample_fleet: SampleFleet, capsys: pytest.CaptureFixture[str]) -> None:
    app = fixed_app(sample_fleet)

    def failing_handler() -> None:
        password = SECRET_MARKER  # a local a traceback with locals would print
        raise RuntimeError(f"failed after reading {len(password)} characters")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=WIDE) as pilot:
            await pilot.pause(0.1)
            app.call_later(failing_handler)
            await pilot.pause(0.3)
    out, err = capsys.readouterr()
    assert "failed after reading" in out + err  # the traceback was printed...
    assert SECRET_MARKER not in out + err  # ...without the locals
