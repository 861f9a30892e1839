"""Run one benchmark on two revisions of edgeops, interleaved in one run, and print their figures side by side.

A change "gets no slower" only if the before and after figures come from the same machine in the same hour: this
machine's speed drifts by tens of percent between runs. Each revision is exported from git into a folder of its
own (`git archive`, no work tree is touched) and its own copy of the benchmark script runs with that folder's
`src/` first on the path, so each side measures its own code with its own benchmark. Rounds alternate
(base, head, base, head, ...) so that slow drift falls on both sides alike; every numeric figure of the
benchmark's `--json` output is reported as the median over the rounds, with the spread (min..max). Usage:

    python bench/compare.py --base REV [--head REV|WORKTREE] [--rounds 3] -- sessions.py --devices 200 --seconds 20

`--head` defaults to the working tree (uncommitted changes included). The benchmark must accept `--json` and
print one JSON object last, on one line or indented (sessions.py, lab.py, fanout.py and console.py do).

`--bench head` runs the head's copy of the benchmark on both sides (each side still with its own `src/`, and for
sessions.py its own lab): both are then measured the same way, and figures the base's copy lacks are there too
(sessions.py's `notifications_per_s` and CPU per notification). The head's benchmark must accept the base's API.

`--lab head` (implies `--bench head`) makes both sides meet the same lab, the head's: a newer lab may send more (the
models' leaves), and a client's CPU and memory follow what it receives. The lab runs the head's `src/` (the
benchmark must know `--lab-src`; sessions.py does). It compares like with like only where the base's client
subscribes to paths the head's lab serves: a client the lab refuses falls back to polling over SSH and receives a
fraction of the data (look at `updates_per_s`). Where the labs must differ, read the figures that follow the volume
received per unit of it: sessions.py's CPU per 1000 notifications, and `cpu_ms_per_1k_samples` (client CPU ms per
1000 samples into the store), which compare.py adds to every round that reports `cpu_pct` and `updates_per_s`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKTREE = "WORKTREE"


@contextlib.contextmanager
def exported(rev: str, into: Path) -> Iterator[Path]:
    """The tree of `rev` as plain files under `into` (or the working tree itself for WORKTREE)."""
    if rev == WORKTREE:
        yield ROOT
        return
    folder = into / rev.replace("/", "_")
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    yield folder


def run_once(tree: Path, script: str, args: list[str], *, bench: Path | None = None) -> dict[str, Any]:
    """One run of `script` with `tree`'s sources (and its own copy of the script, unless `bench` names a folder)."""
    env = dict(os.environ)
    env.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC's C core would print a line per closed channel
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, str((bench or tree / "bench") / script), *args]
    if "--json" not in args:
        command.append("--json")
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
    # The last JSON object it printed, on one line or indented (console.py's): from the last line that opens one.
    lines = done.stdout.strip().splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith("{")]
    if not starts:
        raise SystemExit(f"{script} printed no JSON object:\n{done.stdout}")
    result: dict[str, Any] = json.loads("\n".join(lines[starts[-1] :]))
    return result


def numeric_leaves(value: Any, prefix: str = "") -> dict[str, float]:
    """Every number in a JSON document, keyed by its dotted path (booleans are not figures)."""
    found: dict[str, float] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(numeric_leaves(item, f"{prefix}{key}."))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(numeric_leaves(item, f"{prefix}{index}."))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found[prefix.rstrip(".")] = float(value)
    return found


def with_derived(result: dict[str, Any]) -> dict[str, Any]:
    """A round's figures plus those worked out from them: CPU per sample, where CPU follows the volume received."""
    cpu, samples = result.get("cpu_pct"), result.get("updates_per_s")
    if isinstance(cpu, int | float) and isinstance(samples, int | float) and samples > 0:
        # % of a core is 10 ms of CPU a second: per 1000 samples a second, CPU ms per 1000 samples.
        return {**result, "cpu_ms_per_1k_samples": round(cpu * 10 * 1000 / samples, 2)}
    return result


def summarise(rounds: list[dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """Median, min and max of every figure present in every round."""
    leaves = [numeric_leaves(result) for result in rounds]
    keys = [key for key in leaves[0] if all(key in leaf for leaf in leaves)]
    return {
        key: (
            statistics.median(leaf[key] for leaf in leaves),
            min(leaf[key] for leaf in leaves),
            max(leaf[key] for leaf in leaves),
        )
        for key in keys
    }


def render(value: tuple[float, float, float] | None) -> str:
    if value is None:
        return "-"
    median, low, high = value
    if low == high:
        return f"{median:g}"
    return f"{median:g} ({low:g}..{high:g})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the revision to compare against (a commit, tag or branch)")
    parser.add_argument("--head", default=WORKTREE, help="the revision measured (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, interleaved (default 3)")
    parser.add_argument(
        "--lab",
        choices=("own", "head"),
        default="own",
        help="whose lab each side meets: its own (default), or the head's for both (the benchmark's --lab-src)",
    )
    parser.add_argument(
        "--bench",
        choices=("own", "head"),
        default="own",
        help="whose copy of the benchmark each side runs: its own (default), or the head's for both",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with every round")
    parser.add_argument("benchmark", nargs=argparse.REMAINDER, help="-- SCRIPT [ARGS...], e.g. -- lab.py --devices 50")
    args = parser.parse_args(argv)
    bench = [arg for arg in args.benchmark if arg != "--"]
    if not bench:
        parser.error("name the benchmark after --, e.g. -- sessions.py --devices 200")
    script, bench_args = bench[0], bench[1:]

    with tempfile.TemporaryDirectory(prefix="edgeops-compare-") as tmp:
        sides = {"base": args.base, "head": args.head}
        rounds: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        with exported(args.base, Path(tmp)) as base_tree, exported(args.head, Path(tmp)) as head_tree:
            trees = {"base": base_tree, "head": head_tree}
            bench_dir: Path | None = None
            if args.bench == "head" or args.lab == "head":
                bench_dir = head_tree / "bench"
            if args.lab == "head":
                bench_args = [*bench_args, "--lab-src", str(head_tree / "src")]
            for round_number in range(args.rounds):
                for side in ("base", "head"):
                    print(f"round {round_number + 1}/{args.rounds}: {side} ({sides[side]})", file=sys.stderr)
                    rounds[side].append(with_derived(run_once(trees[side], script, bench_args, bench=bench_dir)))

    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": bench,
                    "base": args.base,
                    "head": args.head,
                    "bench": args.bench,
                    "lab": args.lab,
                    "rounds": rounds,
                }
            )
        )
        return 0
    base, head = summarise(rounds["base"]), summarise(rounds["head"])
    keys = list(dict.fromkeys([*base, *head]))
    labels = (f"base {args.base}", f"head {args.head}")
    width = max(len(key) for key in keys)
    column = max(24, *(len(label) for label in labels))
    lab = "each side its own lab" if args.lab == "own" else f"both sides against the {args.lab}'s lab"
    script_from = "each side its own benchmark" if bench_dir is None else "the head's benchmark on both sides"
    print(f"{' '.join(bench)}: median (min..max) of {args.rounds} interleaved rounds, {lab}, {script_from}")
    print(f"{'':<{width}}  {labels[0]:>{column}}  {labels[1]:>{column}}")
    for key in keys:
        print(f"{key:<{width}}  {render(base.get(key)):>{column}}  {render(head.get(key)):>{column}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
