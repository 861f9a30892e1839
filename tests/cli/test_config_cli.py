"""config.toml: flag > environment > file > built-in default, `edgeops config show|edit|path`, problems as FILE:LINE."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from edgeops import defaults
from edgeops.cli import main
from edgeops.config import ConfigError, Source, read_config_file, resolve_settings, save_theme


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EDGEOPS_"):
            monkeypatch.delenv(name)


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(text)
    return path


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "from-file"\ncommand_timeout = 12\noutput_format = "csv"\n')
    settings = resolve_settings(
        tmp_path,
        {"theme": ("from-flag", "--theme")},
        environ={"EDGEOPS_THEME": "from-env", "EDGEOPS_COMMAND_TIMEOUT": "7.5"},
    )
    assert (settings["theme"].value, settings["theme"].source) == ("from-flag", Source.FLAG)
    assert (settings.command_timeout, settings["command_timeout"].source) == (7.5, Source.ENV)
    assert (settings.output_format, settings["output_format"].origin) == ("csv", f"{path}:3")
    assert (settings.readonly, settings["readonly"].source) == (defaults.READONLY, Source.DEFAULT)
    assert settings.inventory == tmp_path / "inventory.yaml"


def test_no_file_is_every_default(tmp_path: Path) -> None:
    settings = resolve_settings(tmp_path, environ={})
    assert {setting.source for setting in settings.values.values()} == {Source.DEFAULT}
    assert settings.command_timeout == defaults.COMMAND_TIMEOUT_S


def test_unknown_key_is_file_line_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, '# settings\n\ntheme = "x"\ncomand_timeout = 5\n')
    with pytest.raises(ConfigError) as raised:
        read_config_file(path)
    assert [problem.format() for problem in raised.value.problems] == [
        f"{path}:4: unknown key 'comand_timeout'; did you mean 'command_timeout'?"
    ]


def test_bad_values_and_broken_toml_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, 'readonly = "perhaps"\noutput_format = "xml"\ncommand_timeout = -1\n')
    with pytest.raises(ConfigError) as raised:
        read_config_file(path)
    assert [(problem.line, problem.message.split(":")[0]) for problem in raised.value.problems] == [
        (1, "readonly"),
        (2, "output_format"),
        (3, "command_timeout"),
    ]
    write(tmp_path, 'theme = "x"\n[broken\n')
    with pytest.raises(ConfigError) as raised:
        read_config_file(path)
    assert raised.value.problems[0].line == 2


def test_a_bad_variable_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_settings(tmp_path, environ={"EDGEOPS_READONLY": "maybe"})
    assert raised.value.problems[0].format() == "EDGEOPS_READONLY: must be true or false"


def test_config_show_prints_values_and_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "command_timeout = 9\n")
    monkeypatch.setenv("EDGEOPS_OUTPUT_FORMAT", "json")
    assert main(["--config-dir", str(tmp_path), "--readonly", "config", "show"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")}
    assert lines["command_timeout"].endswith(f"# file: {path}:1")
    assert "9.0" in lines["command_timeout"]
    assert lines["output_format"].endswith("# env: EDGEOPS_OUTPUT_FORMAT")
    assert lines["readonly"].endswith("# flag: --readonly")
    assert lines["record"].endswith("# default: built-in")


def test_a_broken_file_stops_every_command_but_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "readonlyy = true\n")
    assert main(["--config-dir", str(tmp_path), "inventory", "check"]) == 2
    assert f"{path}:1: unknown key 'readonlyy'; did you mean 'readonly'?" in capsys.readouterr().err
    assert main(["--config-dir", str(tmp_path), "config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(path)


def test_config_inventory_is_used_when_no_flag_or_variable_names_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "fleet.yaml"
    write(tmp_path, f'inventory = "{inventory}"\n')
    assert main(["--config-dir", str(tmp_path), "inventory", "check"]) == 2
    assert str(inventory) in capsys.readouterr().err


def editor(tmp_path: Path, text: str) -> str:
    """An $EDITOR that replaces the file it is given with `text`."""
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen(sys.argv[1], 'w').write({text!r})\n")
    return f"{sys.executable} {script}"


def test_config_edit_creates_a_private_template_and_checks_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "config"
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "true")
    assert main(["--config-dir", str(folder), "config", "edit"]) == 0
    created = folder / "config.toml"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert read_config_file(created) == {}  # the template is all comments, and valid
    monkeypatch.setenv("VISUAL", editor(tmp_path, 'theme = "nord"\nrecrod = false\n'))
    assert main(["--config-dir", str(folder), "config", "edit"]) == 2
    assert f"{created}:2: unknown key 'recrod'; did you mean 'record'?" in capsys.readouterr().err
    monkeypatch.setenv("VISUAL", editor(tmp_path, "readonly = true\n"))
    assert main(["--config-dir", str(folder), "config", "edit"]) == 0
    assert resolve_settings(folder, environ={}).readonly is True


def test_a_relative_inventory_in_the_file_is_beside_the_file(tmp_path: Path) -> None:
    write(tmp_path, 'inventory = "fleet/inventory.yaml"\n')
    assert resolve_settings(tmp_path, environ={}).inventory == tmp_path / "fleet" / "inventory.yaml"


def test_run_timeout_is_the_login_budget_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run --timeout 20` used to be cut to 15 s at login ("did not answer within 15 s"): connecting had its own cap.

    The login is capped only by a connect_timeout the person set (the variable here); the built-in one is the
    console's."""
    from edgeops.fleet import on_demand

    seen: list[float] = []
    real = on_demand.OnDemandTransport

    def recording(*args: object, **kwargs: object) -> on_demand.OnDemandTransport:
        transport = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(transport.connect_timeout_s)
        return transport

    monkeypatch.setattr(on_demand, "OnDemandTransport", recording)
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        "sites:\n  - {code: lab, name: Lab}\n"
        "devices:\n  - {name: d1, site: lab, role: leaf, platform: srlinux, host: 127.0.0.1, ssh_port: 1}\n"
    )
    argv = ["--config-dir", str(tmp_path / "config"), "--log-dir", str(tmp_path)]
    argv += ["run", "show version", "--target", "all", "-i", str(inventory), "--json"]
    main([*argv, "--timeout", "20"])
    main(argv)
    monkeypatch.setenv("EDGEOPS_CONNECT_TIMEOUT", "4")
    main(argv)
    assert seen == [None, None, 4.0]


def test_connect_timeout_is_a_setting_with_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, "connect_timeout = 25\n")
    settings = resolve_settings(tmp_path, {}, environ={})
    assert (settings.connect_timeout, settings["connect_timeout"].origin) == (25.0, f"{path}:1")
    flagged = resolve_settings(tmp_path, {"connect_timeout": (40.0, "--timeout")}, environ={})
    assert (flagged.connect_timeout, flagged["connect_timeout"].source) == (40.0, Source.FLAG)


def test_save_theme_changes_only_the_theme_line(tmp_path: Path) -> None:
    text = '# mine\n\ncommand_timeout = 12  # slow links\n\n# theme = "old"\nrecord = false\n'
    path = write(tmp_path, text)
    assert save_theme(tmp_path, "edgeops-light") == path
    # The key is added at the top level, after the user's lines, which stay as written.
    assert path.read_text() == text + 'theme = "edgeops-light"\n'
    save_theme(tmp_path, "edgeops-dark")
    assert path.read_text() == text + 'theme = "edgeops-dark"\n'
    assert resolve_settings(tmp_path, environ={})["theme"].source is Source.FILE


def test_save_theme_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "this is = = not toml\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_theme(tmp_path, "edgeops-light")
    assert path.read_text() == "this is = = not toml\n"


def test_a_flag_or_variable_overrides_the_file(tmp_path: Path) -> None:
    write(tmp_path, 'theme = "from-file"\n')
    flag = resolve_settings(tmp_path, {"theme": ("x", "--theme")}, environ={"EDGEOPS_THEME": "y"})
    env = resolve_settings(tmp_path, environ={"EDGEOPS_THEME": "y"})
    file = resolve_settings(tmp_path, environ={})
    assert [s["theme"].overrides_file for s in (flag, env, file)] == ["--theme", "EDGEOPS_THEME", ""]


def test_refresh_rate_and_recording_limits_from_the_file(tmp_path: Path) -> None:
    from edgeops.cli.console import ConsoleRuntime, console_app, recorder_settings

    write(tmp_path, "refresh_rate = 1\nrecord_max_age = 2\nrecord_max_size = 50\n")
    settings = resolve_settings(tmp_path, {}, environ={})
    assert settings.refresh_rate == 1.0
    limits = recorder_settings(settings)
    assert (limits.max_age_s, limits.max_bytes) == (7200.0, 50 * 1024 * 1024)
    paths = tmp_path / "p"
    runtime = ConsoleRuntime(
        tmp_path / "inventory.yaml",
        main_paths(paths),
        refresh_hz=settings.refresh_rate,
        recorder_settings=limits,
    )
    assert console_app(runtime, theme=None).settings.refresh_hz == 1.0
    # The defaults are the recorder's own.
    plain = recorder_settings(resolve_settings(tmp_path / "none", {}, environ={}))
    assert (plain.max_age_s, plain.max_bytes) == (defaults.RECORDING_MAX_AGE_S, defaults.RECORDING_MAX_BYTES)
    assert resolve_settings(tmp_path / "none", {}, environ={}).refresh_rate == defaults.MAX_REFRESH_HZ


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("refresh_rate = 10", "at most 4 redraws a second"),
        ("refresh_rate = 0", "more than 0"),
        ("record_max_age = -1", "positive number of hours"),
        ("record_max_size = 5", "at least 10"),
        ("record_precision = 4", "8 to 52 bits"),
        ('record_precision = "some"', "number of bits"),
    ],
)
def test_bad_refresh_rate_and_recording_limits_are_reported_at_their_line(
    tmp_path: Path, line: str, words: str
) -> None:
    path = write(tmp_path, f'theme = "x"\n{line}\n')
    with pytest.raises(ConfigError) as error:
        resolve_settings(tmp_path, {}, environ={})
    (problem,) = error.value.problems
    assert problem.format().startswith(f"{path}:2:") and words in problem.message, problem.format()


def test_record_precision_reaches_the_recorder(tmp_path: Path) -> None:
    from edgeops.cli.console import recorder_settings

    assert recorder_settings(resolve_settings(tmp_path / "none", {}, environ={})).counter_precision_bits == 12
    write(tmp_path, 'record_precision = "exact"\n')
    assert recorder_settings(resolve_settings(tmp_path, {}, environ={})).counter_precision_bits is None
    settings = resolve_settings(tmp_path, {}, environ={"EDGEOPS_RECORD_PRECISION": "20"})
    assert recorder_settings(settings).counter_precision_bits == 20


def test_recording_limits_from_the_environment(tmp_path: Path) -> None:
    settings = resolve_settings(tmp_path, {}, environ={"EDGEOPS_RECORD_MAX_AGE": "0.5", "EDGEOPS_REFRESH_RATE": "2"})
    assert settings.record_max_age_s == 1800.0 and settings.refresh_rate == 2.0
    assert settings["record_max_age"].source is Source.ENV


def main_paths(root: Path):  # type: ignore[no-untyped-def]
    from edgeops.paths import AppPaths

    return AppPaths(root / "config", root / "state", root / "logs", root / "inventory.yaml")


def test_a_site_has_its_own_command_timeout_under_flags_and_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "command_timeout = 20\n\n[site.tenerife]\ncommand_timeout = 90\n")
    settings = resolve_settings(tmp_path, {}, environ={})
    assert settings.command_timeout_for("tenerife") == 90.0 and settings.command_timeout_for("alcala") == 20.0
    assert settings.for_site("command_timeout", "tenerife").origin == f"{path}:3 [site.tenerife]"
    assert settings.site_command_timeouts() == {"tenerife": 90.0}
    # A flag or a variable is for every device, the far site's included.
    flagged = resolve_settings(tmp_path, {"command_timeout": (5.0, "--timeout")}, environ={})
    assert flagged.command_timeout_for("tenerife") == 5.0 and flagged.site_command_timeouts() == {}
    from_env = resolve_settings(tmp_path, {}, environ={"EDGEOPS_COMMAND_TIMEOUT": "7"})
    assert from_env.command_timeout_for("tenerife") == 7.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[site.tenerife]\ntheme = 'x'\n", "'theme' cannot be set per site"),
        ("[site.tenerife]\ncommand_timeout = -3\n", "site.tenerife.command_timeout: must be a positive number"),
        ("site = 3\n", "site: must be tables"),
    ],
)
def test_bad_site_tables_are_reported_at_their_line(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        resolve_settings(tmp_path, {}, environ={})
    (problem,) = error.value.problems
    assert problem.format().startswith(f"{path}:1:") and words in problem.message, problem.format()


async def test_the_runner_gives_each_device_its_sites_timeout() -> None:
    from edgeops.devices.samples import CommandResult
    from edgeops.fleet.commands import CommandRunner, collect
    from edgeops.inventory.model import Device, Platform

    seen: dict[str, float] = {}

    class Recording:
        async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
            seen[device.name] = timeout_s
            return CommandResult(device.name, command, "ok", 0.0, 0.0, ok=True)

    near = Device("near", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.0.1")
    far = Device("far", "tenerife", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.0.2")
    timeouts = {"tenerife": 90.0}
    runner = CommandRunner(Recording(), audit=None, timeout_s=20.0, timeout_for=lambda d: timeouts.get(d.site, 20.0))
    await collect(runner, "show version", [near, far])
    assert seen == {"near": 20.0, "far": 90.0}


def test_config_show_lists_the_site_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "[site.tenerife]\ncommand_timeout = 90\n")
    assert main(["--config-dir", str(tmp_path), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "[site.tenerife]" in out and "command_timeout" in out and "90.0" in out


def test_the_consoles_runner_takes_the_timeouts(tmp_path: Path) -> None:
    from edgeops.cli.console import ConsoleRuntime, console_app
    from edgeops.inventory.model import Device, Platform

    runtime = ConsoleRuntime(
        tmp_path / "inventory.yaml",
        main_paths(tmp_path / "p"),
        command_timeout_s=12.0,
        site_command_timeouts={"tenerife": 40.0},
    )
    runner = console_app(runtime, theme=None)._default_command_runner()
    far = Device("far", "tenerife", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.0.2")
    near = Device("near", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.0.1")
    assert (runner.timeout_of(far), runner.timeout_of(near)) == (40.0, 12.0)
