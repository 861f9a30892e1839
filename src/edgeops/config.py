"""The user's settings: one value per key from a flag, the environment, config.toml or the built-in default, in that
order, each remembered with where it came from."""

from __future__ import annotations

import difflib
import enum
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeops import defaults
from edgeops.paths import CONFIG_FILE_NAME, INVENTORY_FILE_NAME

OUTPUT_FORMATS = ("text", "json", "yaml", "csv", "table")
HOST_KEY_POLICIES = ("strict", "accept-new", "ask")  # edgeops.devices.hostkeys.HostKeyPolicy's values

_TRUE = {"1", "true", "yes", "on"}
MIB = 1024 * 1024
_FALSE = {"0", "false", "no", "off"}


class Source(enum.StrEnum):
    """Where an effective value came from, strongest first."""

    FLAG = "flag"
    ENV = "env"
    FILE = "file"
    DEFAULT = "default"


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in config.toml (or in an EDGEOPS_* variable); line is 1-based, None when not known."""

    where: str  # the file, or the environment variable
    line: int | None
    message: str

    def format(self) -> str:
        return f"{self.where}:{self.line}: {self.message}" if self.line is not None else f"{self.where}: {self.message}"


class ConfigError(Exception):
    """The settings could not be read; carries every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(problem.format() for problem in problems))


def _positive_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number of seconds")
    number = float(value)
    if not number > 0:
        raise ValueError("must be a positive number of seconds")
    return number


def _refresh_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number of redraws a second")
    number = float(value)
    if not 0 < number <= defaults.MAX_REFRESH_HZ:
        raise ValueError(f"must be more than 0 and at most {defaults.MAX_REFRESH_HZ:g} redraws a second")
    return number


def _hours(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number of hours")
    number = float(value)
    if not number > 0:
        raise ValueError("must be a positive number of hours")
    return number


def _megabytes(value: Any) -> float:
    """Megabytes (MiB); at least 10, below which a recording holds too little to replay."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number of megabytes")
    number = float(value)
    if not number >= 10:
        raise ValueError("must be at least 10 (megabytes)")
    return number


def _precision(value: Any) -> int | str:
    """Significant bits of each traffic sample's difference a recording keeps (8 to 52), or "exact"."""
    if isinstance(value, str) and value.strip().lower() == "exact":
        return "exact"
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise ValueError('must be a number of bits (8 to 52) or "exact"')
    number = int(value)
    if not 8 <= number <= 52:
        raise ValueError('must be 8 to 52 bits, or "exact"')
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError("must be true or false")


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _path(value: Any) -> Path:
    return Path(_text(value)).expanduser()


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key in config.toml, its variable, its flag, how a value is checked, and its default."""

    key: str
    env: str
    flag: str  # the flag that sets it, for `edgeops config show`; "" when none does
    convert: Callable[[Any], Any]
    default: Any
    help: str


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("theme", "EDGEOPS_THEME", "--theme", _text, defaults.THEME, "the console's theme"),
    SettingSpec(
        "command_timeout",
        "EDGEOPS_COMMAND_TIMEOUT",
        "run --timeout",
        _positive_float,
        defaults.COMMAND_TIMEOUT_S,
        "seconds per device for a command (the console); for `edgeops run`, login and command together",
    ),
    SettingSpec(
        "connect_timeout",
        "EDGEOPS_CONNECT_TIMEOUT",
        "",
        _positive_float,
        defaults.CONNECT_TIMEOUT_S,
        "seconds per device to connect and log in (the console); when set here or in the variable, it also caps "
        "the login of `edgeops run` within --timeout",
    ),
    SettingSpec(
        "default_target",
        "EDGEOPS_DEFAULT_TARGET",
        "--target, --site",
        _text,
        None,
        "the devices the console holds when neither --site nor --target is given: a target expression, as "
        "`edgeops run --target` takes (unset: every device)",
    ),
    SettingSpec(
        "host_key_policy",
        "EDGEOPS_HOST_KEY_POLICY",
        "",
        _one_of(HOST_KEY_POLICIES),
        defaults.HOST_KEY_POLICY,
        "a host never seen: strict, accept-new or ask (unset: each host's StrictHostKeyChecking, else accept-new)",
    ),
    SettingSpec(
        "inventory", "EDGEOPS_INVENTORY", "--inventory", _path, None, "the inventory file (default: in this folder)"
    ),
    SettingSpec(
        "output_format",
        "EDGEOPS_OUTPUT_FORMAT",
        "run --format",
        _one_of(OUTPUT_FORMATS),
        defaults.OUTPUT_FORMAT,
        "how `edgeops run` prints: text, json, yaml, csv or table",
    ),
    SettingSpec(
        "readonly",
        "EDGEOPS_READONLY",
        "--readonly",
        _boolean,
        defaults.READONLY,
        "refuse every command that could change a device, with no way to lift the guard",
    ),
    SettingSpec(
        "record", "EDGEOPS_RECORD", "", _boolean, defaults.RECORD, "the console records the fleet into the state folder"
    ),
    SettingSpec(
        "refresh_rate",
        "EDGEOPS_REFRESH_RATE",
        "",
        _refresh_rate,
        defaults.MAX_REFRESH_HZ,
        "how often a second the console redraws what changed (lower it on a slow link)",
    ),
    SettingSpec(
        "record_max_age",
        "EDGEOPS_RECORD_MAX_AGE",
        "",
        _hours,
        defaults.RECORDING_MAX_AGE_S / 3600,
        "hours a recording keeps (older is deleted)",
    ),
    SettingSpec(
        "record_max_size",
        "EDGEOPS_RECORD_MAX_SIZE",
        "",
        _megabytes,
        defaults.RECORDING_MAX_BYTES / MIB,
        "megabytes (MiB) a recording may take on disk (the oldest is deleted first)",
    ),
    SettingSpec(
        "record_precision",
        "EDGEOPS_RECORD_PRECISION",
        "",
        _precision,
        defaults.RECORDING_COUNTER_PRECISION_BITS,
        'significant bits a recording keeps of each traffic counter sample\'s difference, or "exact"',
    ),
)
SPEC_BY_KEY: Mapping[str, SettingSpec] = {spec.key: spec for spec in SPECS}


@dataclass(frozen=True)
class Setting:
    """One effective value and where it came from (`origin`: the flag, the variable, FILE:LINE, or "built-in")."""

    key: str
    value: Any
    source: Source
    origin: str

    @property
    def overrides_file(self) -> str:
        """The flag or variable that set this value over config.toml ("--theme", "EDGEOPS_THEME"); "" if none."""
        return self.origin if self.source in (Source.FLAG, Source.ENV) else ""


@dataclass(frozen=True)
class Settings:
    """Every effective setting; `settings["theme"].value`, or the typed properties."""

    file: Path
    values: Mapping[str, Setting]
    # config.toml's [site.CODE] tables: site code -> key -> Setting (only the keys of SITE_KEYS).
    sites: Mapping[str, Mapping[str, Setting]] = field(default_factory=dict)

    def for_site(self, key: str, site: str) -> Setting:
        """The setting for a device of `site`: a flag or a variable wins as everywhere, then the site's own line
        in config.toml, then the file's general line and the default."""
        general = self.values[key]
        if general.source in (Source.FLAG, Source.ENV):
            return general
        return self.sites.get(site, {}).get(key, general)

    def command_timeout_for(self, site: str) -> float:
        return float(self.for_site("command_timeout", site).value)

    def site_command_timeouts(self) -> dict[str, float]:
        """The sites whose devices get their own command timeout (none when a flag or a variable set it)."""
        if self.values["command_timeout"].source in (Source.FLAG, Source.ENV):
            return {}
        return {site: self.command_timeout_for(site) for site in self.sites if "command_timeout" in self.sites[site]}

    def __getitem__(self, key: str) -> Setting:
        return self.values[key]

    @property
    def theme(self) -> str | None:
        return self.values["theme"].value  # type: ignore[no-any-return]

    @property
    def command_timeout(self) -> float:
        return self.values["command_timeout"].value  # type: ignore[no-any-return]

    @property
    def connect_timeout(self) -> float:
        return self.values["connect_timeout"].value  # type: ignore[no-any-return]

    @property
    def default_target(self) -> str | None:
        return self.values["default_target"].value  # type: ignore[no-any-return]

    @property
    def host_key_policy(self) -> str | None:
        return self.values["host_key_policy"].value  # type: ignore[no-any-return]

    @property
    def inventory(self) -> Path | None:
        return self.values["inventory"].value  # type: ignore[no-any-return]

    @property
    def output_format(self) -> str:
        return self.values["output_format"].value  # type: ignore[no-any-return]

    @property
    def readonly(self) -> bool:
        return self.values["readonly"].value  # type: ignore[no-any-return]

    @property
    def record(self) -> bool:
        return self.values["record"].value  # type: ignore[no-any-return]

    @property
    def refresh_rate(self) -> float:
        return self.values["refresh_rate"].value  # type: ignore[no-any-return]

    @property
    def record_max_age_s(self) -> float:
        return float(self.values["record_max_age"].value) * 3600

    @property
    def record_max_bytes(self) -> int:
        return int(self.values["record_max_size"].value * MIB)

    @property
    def record_precision_bits(self) -> int | None:
        """None: every counter recorded exactly."""
        value = self.values["record_precision"].value
        return None if value == "exact" else int(value)


_KEY_LINE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")
_TABLE_LINE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
# tomllib reports a position only in its message before Python 3.14 (which adds lineno): "... (at line 3, column 7)".
_DECODE_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def _key_lines(text: str) -> dict[str, int]:
    """The line each top-level key or table is written on (tomllib keeps no positions)."""
    lines: dict[str, int] = {}
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TABLE_LINE.match(line)
        if table:
            in_table = True
            lines.setdefault(table.group(1).split(".")[0].strip().strip("\"'"), number)
            continue
        key = _KEY_LINE.match(line)
        if key and not in_table:
            lines.setdefault(next(group for group in key.groups() if group), number)
    return lines


SITES_TABLE = "site"
# What a site may set for its own devices: the timeouts (a far site behind a slow link needs longer ones).
# (command_timeout is each device's budget, login included, so it is the one a site needs.)
SITE_KEYS = ("command_timeout",)


def _site_tables(
    path: Path, text: str, raw: Any, problems: list[ConfigProblem], line: int | None
) -> dict[str, dict[str, tuple[Any, int | None]]]:
    """[site.CODE] tables: CODE -> key -> (value, line), checked like the top-level keys."""
    sites: dict[str, dict[str, tuple[Any, int | None]]] = {}
    if not isinstance(raw, dict):
        problems.append(ConfigProblem(str(path), line, "site: must be tables, e.g. [site.alcala]"))
        return sites
    for code, table in raw.items():
        header = re.search(rf"^[ \t]*\[[ \t]*site\.\"?{re.escape(code)}\"?\s*\]", text, re.MULTILINE)
        line = text.count("\n", 0, header.start()) + 1 if header else line
        if not isinstance(table, dict):
            problems.append(ConfigProblem(str(path), line, f"site.{code}: must be a table, e.g. [site.{code}]"))
            continue
        for key, value in table.items():
            if key not in SITE_KEYS:
                problems.append(
                    ConfigProblem(
                        str(path), line, f"site.{code}: {key!r} cannot be set per site ({', '.join(SITE_KEYS)} can)"
                    )
                )
                continue
            try:
                sites.setdefault(code, {})[key] = (SPEC_BY_KEY[key].convert(value), line)
            except ValueError as error:
                problems.append(ConfigProblem(str(path), line, f"site.{code}.{key}: {error}"))
    return sites


def read_config_file(path: Path) -> dict[str, tuple[Any, int | None]]:
    """config.toml's values, checked, with the line each is on; {} when there is no file. Raises ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(str(path), None, f"cannot read it: {error}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None)
        if line is None:
            found = _DECODE_POSITION.search(str(error))
            line = int(found.group(1)) if found else None
        message = _DECODE_POSITION.sub("", str(error)).strip()
        raise ConfigError([ConfigProblem(str(path), line, f"not valid TOML: {message}")]) from None
    lines = _key_lines(text)
    problems: list[ConfigProblem] = []
    values: dict[str, tuple[Any, int | None]] = {}
    for key, raw in data.items():
        line = lines.get(key)
        if key == SITES_TABLE:
            values[key] = (_site_tables(path, text, raw, problems, line), line)
            continue
        spec = SPEC_BY_KEY.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, SPEC_BY_KEY, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(SPEC_BY_KEY)}"
            problems.append(ConfigProblem(str(path), line, f"unknown key {key!r}{hint}"))
            continue
        try:
            values[key] = (spec.convert(raw), line)
        except ValueError as error:
            problems.append(ConfigProblem(str(path), line, f"{key}: {error}"))
    if problems:
        raise ConfigError(problems)
    return values


def resolve_settings(
    config_dir: Path, flags: Mapping[str, tuple[Any, str]] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The effective settings: a flag given (key -> (value, flag)), then EDGEOPS_*, then config.toml, then the
    built-in default. Raises ConfigError for a broken file or a bad variable, with every problem found."""
    environ = os.environ if environ is None else environ
    flags = flags or {}
    path = config_dir / CONFIG_FILE_NAME
    problems: list[ConfigProblem] = []
    try:
        from_file = read_config_file(path)
    except ConfigError as error:
        problems.extend(error.problems)
        from_file = {}
    values: dict[str, Setting] = {}
    for spec in SPECS:
        if spec.key in flags:
            value, flag = flags[spec.key]
            values[spec.key] = Setting(spec.key, value, Source.FLAG, flag)
        elif environ.get(spec.env):
            try:
                converted = spec.convert(environ[spec.env])
            except ValueError as error:
                problems.append(ConfigProblem(spec.env, None, str(error)))
                continue
            values[spec.key] = Setting(spec.key, converted, Source.ENV, spec.env)
        elif spec.key in from_file:
            value, line = from_file[spec.key]
            if isinstance(value, Path) and not value.is_absolute():
                value = config_dir / value  # a relative path in the file is read from the file's folder, not the cwd
            values[spec.key] = Setting(spec.key, value, Source.FILE, f"{path}:{line}" if line else str(path))
        else:
            default = config_dir / INVENTORY_FILE_NAME if spec.key == "inventory" else spec.default
            values[spec.key] = Setting(spec.key, default, Source.DEFAULT, "built-in")
    if problems:
        raise ConfigError(problems)
    sites_in_file: dict[str, dict[str, tuple[Any, int | None]]] = from_file.get(SITES_TABLE, ({}, None))[0]
    sites = {
        code: {
            key: Setting(key, value, Source.FILE, f"{path}:{line} [site.{code}]" if line else f"{path} [site.{code}]")
            for key, (value, line) in table.items()
        }
        for code, table in sites_in_file.items()
    }
    return Settings(path, values, sites)


def save_theme(config_dir: Path, name: str) -> Path:
    """Write `theme = "NAME"` into config.toml and return the file; the rest of the file stays as the user wrote
    it (comments, the other keys, their order), since tomlkit edits the document instead of rewriting it. A missing
    file is started from TEMPLATE. The file is replaced atomically (edgeops.files). Raises ConfigError for a file
    that cannot be read or is not valid TOML (it is left alone), OSError for one that cannot be written."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    from edgeops.files import write_private

    path = config_dir / CONFIG_FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = TEMPLATE
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(str(path), None, f"cannot read it: {error}")]) from None
    try:
        document = tomlkit.parse(text)
    except ParseError as error:
        raise ConfigError([ConfigProblem(str(path), error.line, f"not valid TOML: {error}")]) from None
    document["theme"] = SPEC_BY_KEY["theme"].convert(name)
    return write_private(path, tomlkit.dumps(document), durable=True)


TEMPLATE = """\
# edgeops settings. Precedence: a flag, then an EDGEOPS_* variable, then this file, then the built-in default.
# `edgeops config show` prints the effective value of each and where it came from.

# theme = "edgeops-dark"
# command_timeout = 30.0        # seconds per device: a console command; edgeops run's login and command (--timeout)
# connect_timeout = 15.0        # seconds per device to log in (the console); set here, it caps edgeops run's too
# default_target = "site:alcala"  # the console's devices unless --site or --target says otherwise
# host_key_policy = "accept-new"  # strict, accept-new or ask
# inventory = "~/fleet/inventory.yaml"
# output_format = "text"        # text, json, yaml, csv or table (edgeops run --format)
# readonly = false              # true: no command that could change a device, and no way to lift the guard
# record = true
# record_max_age = 24           # hours a recording keeps
# record_max_size = 500         # megabytes a recording may take
# record_precision = 12         # bits kept of each traffic sample's difference (rates within 0.05 %), or "exact"
# refresh_rate = 4              # redraws a second at most (lower it on a slow link)
"""
