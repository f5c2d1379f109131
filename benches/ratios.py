#!/usr/bin/env python3
"""Summarise the `framing`, `messages` and `pipeline` criterion results as markdown tables.

Run after `cargo bench -p qmp-benches`:

    python3 benches/ratios.py [CRITERION_DIR]

CRITERION_DIR defaults to target/criterion in the workspace (or in $CARGO_TARGET_DIR).
For each benchmark it reads new/benchmark.json (group, function, throughput bytes) and
new/estimates.json (median time). Throughput is bytes / median time, in MB/s
(10^6 bytes per second). The ratio columns divide the framer's throughput by that of
serde_json's RawValue stream deserializer on the same corpus in the same run: above 1
means the framer is faster.

The `messages` groups (`typed_events`, `encode_commands`, `parse_reply`) follow in tables of their own,
one row per function, with its throughput divided by each of the group's baselines, and
then the headline ratios with the project's goal where it has one. Groups that were not
run are left out.

The `pipeline` bench (pipelined `query-status` against a real QEMU) gives one table:
per client, commands per second (from the median wall time of a batch in
`pipeline_wall`), CPU µs per command (from the median thread CPU time of a batch in
`pipeline_cpu`), their quotient as "% of one core", and each client's CPU per command
divided by the serde_json client's.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

GROUPS = ["schema", "events", "chatter", "pretty"]
FUNCTIONS = [
    "qmp_framer/whole",
    "qmp_framer_parse/whole",
    "qmp_framer/4k_chunks",
    "serde_json/raw_value_stream",
    "serde_json/ignored_any_lines",
    "serde_json/value_lines",
    "simd_json/borrowed_lines",
]
BASELINE = "serde_json/raw_value_stream"
RATIOS = [
    ("framer whole ÷ RawValue", "qmp_framer/whole"),
    ("framer 4k ÷ RawValue", "qmp_framer/4k_chunks"),
]

# Framing plus Message::parse against framing alone, per corpus, and the goal for it
# (parsing adds at most half the framing cost) on the corpora it applies to.
PARSE_RATIO = ("qmp_framer_parse/whole", "qmp_framer/whole", 0.67, {"events", "chatter"})

# The `messages` bench: its groups, their functions in display order, and the baselines
# each function is divided by.
MESSAGE_GROUPS = {
    "typed_events": (
        [
            "qmp/typed",
            "qmp/framer_typed",
            "qmp/envelope",
            "qmp/validate",
            "serde_json/value",
            "serde_json/typed",
            "serde_json/untagged",
            "serde_json_core/envelope",
            "simd_json/borrowed",
        ],
        ["serde_json_core/envelope", "serde_json/typed"],
    ),
    "encode_commands": (
        [
            "qmp/encode",
            "qmp/raw_args",
            "serde_json/to_writer",
            "serde_json_core/to_slice",
        ],
        ["serde_json/to_writer", "serde_json_core/to_slice"],
    ),
    "parse_reply": (["qmp/frame", "qmp/raw_json"], ["qmp/raw_json"]),
}
# Groups whose tables also give the median time of one iteration.
TIMED_GROUPS = {"parse_reply"}
# The `pipeline` bench: its two groups (wall time, thread CPU time), its clients in
# display order, the baseline, and the goal for the share of one core (under 5 %).
PIPELINE_WALL = "pipeline_wall"
PIPELINE_CPU = "pipeline_cpu"
PIPELINE_CLIENTS = ["qmp/blocking", "qmp/async", "qmp/session", "serde_json/lines"]
PIPELINE_BASELINE = "serde_json/lines"
PIPELINE_CORE_GOAL = 5.0

# (group, numerator, denominator, goal or None)
HEADLINES = [
    ("typed_events", "qmp/typed", "serde_json_core/envelope", 3.0),
    ("typed_events", "qmp/typed", "serde_json/typed", None),
    ("typed_events", "qmp/validate", "serde_json_core/envelope", None),
    ("encode_commands", "qmp/encode", "serde_json/to_writer", None),
]


def default_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def throughput_bytes(bench: dict) -> int | None:
    throughput = bench.get("throughput")
    if not isinstance(throughput, dict):
        return None
    for kind in ("Bytes", "BytesDecimal"):
        if kind in throughput:
            return int(throughput[kind])
    return None


def load(root: Path) -> dict:
    """{group: {function: (bytes, median_ns)}}"""
    results: dict = {}
    for bench_file in sorted(root.glob("*/*/new/benchmark.json")):
        bench = json.loads(bench_file.read_text())
        estimates = json.loads((bench_file.parent / "estimates.json").read_text())
        group = bench.get("group_id")
        function = bench.get("function_id")
        size = throughput_bytes(bench)
        if group is None or function is None or size is None:
            continue
        median_ns = estimates["median"]["point_estimate"]
        results.setdefault(group, {})[function] = (size, median_ns)
    return results


def load_pipeline(root: Path) -> dict:
    """{group: {function: (commands per iteration, median_ns)}} for the pipeline groups."""
    results: dict = {}
    for group in (PIPELINE_WALL, PIPELINE_CPU):
        for bench_file in sorted((root / group).glob("*/new/benchmark.json")):
            bench = json.loads(bench_file.read_text())
            estimates = json.loads((bench_file.parent / "estimates.json").read_text())
            throughput = bench.get("throughput")
            function = bench.get("function_id")
            if not isinstance(throughput, dict) or "Elements" not in throughput or not function:
                continue
            median_ns = estimates["median"]["point_estimate"]
            results.setdefault(group, {})[function] = (int(throughput["Elements"]), median_ns)
    return results


def mb_per_s(entry) -> float | None:
    if entry is None:
        return None
    size, median_ns = entry
    return size / (median_ns * 1e-9) / 1e6


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default_dir()
    results = load(root)
    pipeline = load_pipeline(root)
    if not results and not pipeline:
        print(f"no criterion results under {root}", file=sys.stderr)
        return 1

    framing = {g: e for g, e in results.items() if g not in MESSAGE_GROUPS}
    if framing:
        print_framing(framing)
    messages = {g: e for g, e in results.items() if g in MESSAGE_GROUPS}
    if messages:
        if framing:
            print()
        print_messages(messages)
    if pipeline:
        if results:
            print()
        print_pipeline(pipeline)
    return 0


def print_framing(results: dict) -> None:
    groups = [g for g in GROUPS if g in results] + sorted(set(results) - set(GROUPS))
    functions = FUNCTIONS + sorted(
        {f for g in results.values() for f in g} - set(FUNCTIONS)
    )

    header = ["corpus", "bytes"] + functions + [name for name, _ in RATIOS]
    header.append("framer+parse ÷ framer")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for group in groups:
        entries = results[group]
        sizes = {size for size, _ in entries.values()}
        row = [group, " / ".join(str(s) for s in sorted(sizes))]
        speeds = {f: mb_per_s(entries.get(f)) for f in functions}
        row += ["n/a" if speeds[f] is None else f"{speeds[f]:.0f}" for f in functions]
        base = speeds.get(BASELINE)
        for _, function in RATIOS:
            speed = speeds.get(function)
            row.append("n/a" if speed is None or not base else f"{speed / base:.2f}")
        parse, alone, goal, goal_groups = PARSE_RATIO
        value = ratio(speeds.get(parse), speeds.get(alone))
        if value != "n/a" and group in goal_groups:
            value += f" (goal ≥ {goal:g}: " + ("met" if float(value) >= goal else "missed") + ")"
        row.append(value)
        print("| " + " | ".join(row) + " |")
    print()
    print(
        "Throughput in MB/s (10^6 bytes/s) from the median time of each benchmark; "
        "n/a: not run for that corpus."
    )


def ratio(speed: float | None, base: float | None) -> str:
    return "n/a" if speed is None or not base else f"{speed / base:.2f}"


def print_messages(results: dict) -> None:
    for group, (order, baselines) in MESSAGE_GROUPS.items():
        entries = results.get(group)
        if not entries:
            continue
        functions = [f for f in order if f in entries] + sorted(set(entries) - set(order))
        speeds = {f: mb_per_s(entries.get(f)) for f in functions}
        sizes = " / ".join(str(s) for s in sorted({size for size, _ in entries.values()}))
        print(f"{group} ({sizes} bytes)")
        print()
        timed = group in TIMED_GROUPS
        header = ["function", "MB/s"] + (["µs"] if timed else [])
        header += [f"÷ {b}" for b in baselines]
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for function in functions:
            row = [function, f"{speeds[function]:.0f}"]
            if timed:
                row.append(f"{entries[function][1] / 1000:.3f}")
            row += [ratio(speeds[function], speeds.get(b)) for b in baselines]
            print("| " + " | ".join(row) + " |")
        print()

    rows = []
    for group, numerator, denominator, goal in HEADLINES:
        entries = results.get(group, {})
        value = ratio(mb_per_s(entries.get(numerator)), mb_per_s(entries.get(denominator)))
        if value == "n/a":
            continue
        if goal is None:
            verdict = ""
        else:
            verdict = f"≥ {goal:g}: " + ("met" if float(value) >= goal else "missed")
        rows.append([f"{numerator} ÷ {denominator}", value, verdict])
    if rows:
        print("| ratio | value | goal |")
        print("|---|---:|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
    print(
        "Throughput in MB/s (10^6 bytes/s) from the median time of each benchmark; "
        "ratios above 1 mean the function is faster than the baseline."
    )


def print_pipeline(results: dict) -> None:
    wall = results.get(PIPELINE_WALL, {})
    cpu = results.get(PIPELINE_CPU, {})
    names = set(wall) | set(cpu)
    clients = [c for c in PIPELINE_CLIENTS if c in names] + sorted(names - set(PIPELINE_CLIENTS))

    def per_command_ns(entries: dict, client: str) -> float | None:
        entry = entries.get(client)
        return None if entry is None else entry[1] / entry[0]

    base_cpu = per_command_ns(cpu, PIPELINE_BASELINE)
    print("pipeline (query-status, 8 in flight, real QEMU)")
    print()
    header = ["client", "commands/s", "CPU µs/command", "% of one core", f"CPU ÷ {PIPELINE_BASELINE}"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for client in clients:
        wall_ns = per_command_ns(wall, client)
        cpu_ns = per_command_ns(cpu, client)
        row = [
            client,
            "n/a" if wall_ns is None else f"{1e9 / wall_ns:.0f}",
            "n/a" if cpu_ns is None else f"{cpu_ns / 1000:.2f}",
        ]
        if wall_ns is None or cpu_ns is None:
            row.append("n/a")
        else:
            share = cpu_ns / wall_ns * 100
            verdict = "met" if share < PIPELINE_CORE_GOAL else "missed"
            row.append(f"{share:.2f} (goal < {PIPELINE_CORE_GOAL:g}: {verdict})")
        row.append("n/a" if cpu_ns is None or not base_cpu else f"{cpu_ns / base_cpu:.2f}")
        print("| " + " | ".join(row) + " |")
    print()
    print(
        "commands/s from the median wall time of a batch (pipeline_wall), CPU µs from the "
        "median CPU time of the benchmark thread per batch (pipeline_cpu); % of one core is "
        "their quotient. QEMU sets the pace of the wall figures; the CPU figures are the "
        "client's own. CPU ratios below 1 mean the client is cheaper than the baseline."
    )


if __name__ == "__main__":
    sys.exit(main())
