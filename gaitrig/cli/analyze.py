"""``rig analyze FILE`` (a recording file's contacts, steps and summary) and ``rig record``
(a recording of the virtual rig)."""

from __future__ import annotations

import argparse
import sys


def add_analysis_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``rig analyze`` and ``rig record`` (offline: no server, no boards)."""
    analyze = commands.add_parser(
        "analyze", help="analyse a recording: contacts, steps and summary",
        description="Analyse a recording (.npz of this rig, .csv, PhysioNet gaitpdb .txt[.gz] "
                    "or WFDB .hea); see docs/recordings.md.")
    analyze.add_argument("file", help="the recording")
    analyze.add_argument("--json", action="store_true", help="print the full result as JSON")
    analyze.add_argument("--layout", help="sensor positions for a .csv recording (JSON)")
    analyze.add_argument("--body-mass-kg", type=float, help="the patient's mass (kg)")
    analyze.add_argument("--prosthetic-side", choices=("left", "right"))
    record = commands.add_parser("record", help="write a recording of the virtual rig (.npz)")
    record.add_argument("--simulate", action="store_true", required=True,
                        help="record the virtual rig (the only source offline)")
    record.add_argument("--seconds", type=float, default=30.0, help="length (s)")
    record.add_argument("--seed", type=int, default=0)
    record.add_argument("--activity", default="walking")
    record.add_argument("--body-mass-kg", type=float, default=75.0)
    record.add_argument("--prosthetic-side", choices=("left", "right"), default="left")
    record.add_argument("file", help="where to write it (.npz)")


def analyze_command(args: argparse.Namespace) -> int:
    """Exit 2 with one line on stderr (file and reason) when the recording cannot be used."""
    import json

    from gaitrig.io.recordings import RecordingError
    from gaitrig.rig.offline.analyze import AnalysisError, analyze

    try:
        result = analyze(args.file, layout_path=args.layout, body_mass_kg=args.body_mass_kg,
                         prosthetic_side=args.prosthetic_side)
    except (RecordingError, AnalysisError) as error:
        print(f"rig analyze: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    summary = result["summary"]
    print(f"{result['file']}: {result['duration_s']:.1f} s at {result['sample_rate_hz']:g} Hz, "
          f"{len(result['feet']['left']['contacts'])} left and "
          f"{len(result['feet']['right']['contacts'])} right contacts, cadence "
          f"{summary['cadence_steps_per_min'] or float('nan'):.1f} steps/min")
    return 0


def record_command(args: argparse.Namespace) -> int:
    from gaitrig.sim.recording import record_virtual

    try:
        made = record_virtual(args.file, args.seconds, body_mass_kg=args.body_mass_kg,
                              prosthetic_side=args.prosthetic_side, activity=args.activity,
                              seed=args.seed)
    except (OSError, ValueError) as error:
        print(f"rig record: {args.file}: {error}", file=sys.stderr)
        return 2
    print(f"{made.path}: {args.seconds:g} s of the virtual rig, {len(made.events)} gait events")
    return 0
