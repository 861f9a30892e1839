"""The core must not import textual: only edgeops.ui may."""

import pkgutil
import subprocess
import sys

import edgeops


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(edgeops.__path__, prefix="edgeops."):
        if info.name == "edgeops.ui" or info.name.startswith("edgeops.ui."):
            continue
        if info.name == "edgeops.__main__":
            continue
        names.append(info.name)
    return names


def fresh_interpreter(code: str) -> str:
    """What `code` prints in a new interpreter: this test process may have anything loaded by other tests."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_core_modules_exist():
    names = core_modules()
    assert "edgeops.inventory.model" in names
    assert "edgeops.devices.samples" in names


def test_core_does_not_import_textual():
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(leaked))\n"
    )
    leaked = fresh_interpreter(code).strip()
    assert leaked == "", f"textual imported by the core: {leaked}"


def test_the_engine_imports_no_text_templates_until_sr_os_text_is_parsed():
    # textfsm and ntc-templates cost the engine memory that a fleet on gNMI never uses (docs/performance.md).
    code = (
        "import sys\n"
        "import edgeops.fleet.engine, edgeops.devices.ssh_poll, edgeops.devices.sros_text as text\n"
        "before = sorted(m for m in ('textfsm', 'ntc_templates') if m in sys.modules)\n"
        "text.template_for('show port')\n"
        "after = sorted(m for m in ('textfsm', 'ntc_templates') if m in sys.modules)\n"
        "print(','.join(before), '|', ','.join(after))\n"
    )
    assert fresh_interpreter(code).split() == ["|", "ntc_templates,textfsm"]


def test_the_engine_imports_no_msgpack_until_events_are_encoded():
    # The store's events are encoded only for a recording or the bus; `edgeops run` and a console that neither
    # records nor shares never need msgpack's modules (docs/performance.md).
    code = (
        "import sys\n"
        "import edgeops.fleet.engine, edgeops.fleet.events as events\n"
        "before = 'msgpack' in sys.modules\n"
        "events.decode_events(events.encode_events([]))\n"
        "print(before, 'msgpack' in sys.modules)\n"
    )
    assert fresh_interpreter(code).split() == ["False", "True"]


def test_the_console_reaches_its_first_frame_without_the_engines_libraries():
    # What runs before the console's first frame (the CLI, the recording's settings, the app and its starting
    # screen) must not pull in the SSH, gRPC and CLI-driver libraries: they are imported in the background after
    # it (docs/performance.md, Console). A type-only import that became a real one cost the first frame 0.3 s.
    code = (
        "import sys\n"
        "import edgeops.cli.main, edgeops.cli.console, edgeops.recording.recorder, edgeops.ui.app\n"
        "import edgeops.ui.screens.starting\n"
        "heavy = ('asyncssh', 'grpc', 'scrapli', 'edgeops.devices.supervisor', 'edgeops.fleet.engine')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    heavy = fresh_interpreter(code).strip()
    assert heavy == "", f"imported before the first frame: {heavy}"
