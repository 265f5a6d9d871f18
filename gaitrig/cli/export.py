"""``rig export``: a trial's raw samples or steps (CSV) or C3D, a session's or a patient's PDF
report, written to a file with a progress bar (tqdm) for the long ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gaitrig.rig.settings import Settings

KINDS = ("raw", "steps", "c3d", "session-report", "patient-report")


def add_export_command(commands: Any) -> None:
    """The ``export`` sub-command, on the ``rig`` parser's sub-parsers."""
    export = commands.add_parser(
        "export", help="export a trial (CSV, C3D) or a PDF report",
        description="raw/steps/c3d take a trial id; session-report a session id; "
                    "patient-report a patient id.")
    export.add_argument("kind", choices=KINDS)
    export.add_argument("id", type=int, help="the trial, session or patient id")
    export.add_argument("--role", default="insole_left",
                        choices=("insole_left", "insole_right", "bars"),
                        help="raw: which board's frames (default insole_left)")
    export.add_argument("-o", "--output", type=Path, default=None,
                        help="file to write (default: the export's own name, here)")


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gaitrig.rig.clinic import exports
    from gaitrig.rig.clinic.history import ClinicHistory, RecordNotFoundError
    from gaitrig.rig.records import Records

    records = Records.open(settings.resolved_database_url())
    history = ClinicHistory(records)
    try:
        if args.kind == "session-report":
            export = exports.session_report(history, args.id)
        elif args.kind == "patient-report":
            export = exports.patient_report(history, args.id)
        elif args.kind == "raw":
            export = exports.raw_csv(history, args.id, args.role)
        elif args.kind == "steps":
            export = exports.steps_csv(history, args.id)
        else:
            export = exports.c3d_file(history, args.id)
        output: Path = args.output or Path(export.filename)
        with output.open("wb") as file:
            for part in tqdm(export.parts, total=export.total_parts, unit="chunk",
                             desc=output.name, file=sys.stderr):
                file.write(part)
    except RecordNotFoundError as exc:
        print(f"rig export: {exc}", file=sys.stderr)
        return 1
    finally:
        records.close()
    print(f"wrote {output}")
    return 0
