"""Settings, read from the environment with the ``GAITRIG_`` prefix (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: What the virtual patient can do (gaitrig.sim.patient.ACTIVITIES).
SimulatedActivity = Literal["walking", "standing", "weight_shift", "off_rig", "standing_on_left",
                            "standing_on_right", "sit_to_stand"]


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "gaitrig"


class Settings(BaseSettings):
    """Everything the server reads from its environment. Units are in the names."""

    # An empty variable counts as unset (compose files pass "${GAITRIG_X:-}").
    model_config = SettingsConfigDict(env_prefix="GAITRIG_", env_file=".env", extra="ignore",
                                      env_ignore_empty=True)

    data_dir: Path = Field(default_factory=default_data_dir,
                           description="Folder for the SQLite database and local files.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file gaitrig.sqlite3 in data_dir. "
                    "PostgreSQL: postgresql+psycopg://user@host/db")
    migrate_on_start: bool = Field(
        default=True,
        description="Upgrade the database schema when the server starts; when off, a server "
                    "whose database is behind refuses to start and says to run `rig db upgrade`.")
    host: str = "127.0.0.1"
    port: int = 8000
    allow_network: bool = Field(
        default=False, description="Needed to listen on any address but this machine's own.")
    tls_keyfile: Path | None = Field(default=None, description="TLS private key (PEM).")
    tls_certfile: Path | None = Field(default=None, description="TLS certificate chain (PEM).")
    rig_id: str = Field(default="rig-1", description="Names this rig in a clinic with several.")

    devices: bool = Field(default=True, description="False: a history server with no boards "
                                                    "and no live rig (rig serve --no-devices).")
    simulate: bool = Field(default=False, description="Run the virtual rig instead of boards.")
    demo: bool = Field(default=False, description="Demo mode (`make run`): a demo account is "
                                                  "created and its password printed; this "
                                                  "machine only (refused on a network host).")
    serial_ports: list[str] = Field(default_factory=list,
                                    description="Serial ports of the boards, e.g. /dev/ttyACM0.")
    insole_rate_hz: int = Field(default=1000, ge=1, le=1000)
    insole_sensors: Literal[8, 16] = 8
    shoe_size_eu: int = Field(default=42, ge=36, le=46)

    # The patient on the rig until the therapist console picks one from the database.
    body_mass_kg: float = Field(default=75.0, gt=20, lt=300)
    prosthetic_side: Literal["left", "right"] = "left"
    display_name: str = "Demo patient"
    simulate_activity: SimulatedActivity = "walking"
    simulate_follows_targets: bool | None = Field(
        default=None,
        description="The virtual patient hears the therapist's band and limit: its prosthetic "
                    "steps are drawn around the band (some over, some over the limit) and its "
                    "weight shift follows the band's period. Default: in demo mode (make run) "
                    "only; otherwise it walks its own fixed gait, as tests of known loads want.")

    session_idle_end_s: float = Field(
        default=7200.0, gt=0,
        description="A clinic session with no trial for this long (s) is ended, at its last "
                    "trial's end.")
    target_low_pct_bw: float = Field(default=40.0, ge=0, le=150)
    target_high_pct_bw: float = Field(default=60.0, ge=0, le=150)
    alarm_debounce_s: float = Field(
        default=0.1, ge=0, le=1.0,
        description="The safety limit's STOP alarm is raised only when the prosthetic load stays "
                    "over the limit this long (s): a brief spike raises nothing.")
    alarm_hold_s: float = Field(
        default=1.0, ge=0, le=10.0,
        description="Once raised, the STOP alarm stays up at least this long (s).")
    live_update_hz: float = Field(default=60.0, ge=1, le=1000,
                                  description="Most live updates per second sent to a client.")
    live_send_timeout_s: float = Field(
        default=5.0, gt=0, le=60,
        description="A live client that takes no message for this long is dropped (s).")
    live_compression: bool = Field(
        default=False, description="Offer permessage-deflate on /ws/live: zlib per client and "
                                   "update, for slow links only (docs/benchmarks.md).")
    gil_switch_interval_s: float = Field(
        default=0.005, gt=0, le=0.1,
        description="How long a Python thread may hold the interpreter before another waiting "
                    "one gets it (s; Python's default). docs/benchmarks.md measures 0.0005.")


    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'gaitrig.sqlite3'}"
