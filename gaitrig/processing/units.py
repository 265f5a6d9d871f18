"""Physical constants the rig computes with, defined once."""

#: Standard acceleration of gravity (m/s²): body weight (N) = body mass (kg) x this.
STANDARD_GRAVITY = 9.80665
