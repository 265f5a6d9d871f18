"""PLACEHOLDER gait-event detector (branch ``records`` only; the ``analysis`` branch's real
detector replaces this file at merge, with the same signature).

:func:`detect_contacts` finds one foot's ground contacts in its total load with a plain
threshold and hysteresis: contact starts (heel strike) at the first sample above the "on"
level and ends (toe off) at the first sample back below the "off" level. Contacts cut by the
start or the end of the recording are left out, as are contacts shorter than
:data:`MIN_CONTACT_S`. Times in s: sample ``j`` is at ``start_time_s + j / sample_rate_hz``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from processing.metrics import FootContacts

#: Contact starts above this fraction of body weight (5 %), or :data:`ON_LEVEL_N` without one.
ON_FRACTION_BW = 0.05
#: ... and ends below this fraction (3 %): the gap is the hysteresis against noise.
OFF_FRACTION_BW = 0.03
ON_LEVEL_N = 40.0
OFF_LEVEL_N = 25.0
#: Shorter contacts are noise, not steps (s).
MIN_CONTACT_S = 0.1


def detect_contacts(force_n: npt.ArrayLike, sample_rate_hz: float,
                    body_weight_n: float | None = None, start_time_s: float = 0.0
                    ) -> FootContacts:
    """One foot's complete contacts in its load ``force_n`` (n,) in N (NaN counts as unloaded)."""
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0.0):
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz!r}")
    load = np.nan_to_num(np.asarray(force_n, dtype=np.float64).reshape(-1), nan=0.0)
    if body_weight_n is not None and body_weight_n > 0.0:
        on, off = ON_FRACTION_BW * body_weight_n, OFF_FRACTION_BW * body_weight_n
    else:
        on, off = ON_LEVEL_N, OFF_LEVEL_N
    n = load.size
    if n == 0:
        return FootContacts(np.empty(0), np.empty(0))
    # +1 above "on", -1 below "off", 0 between: hold the last decided state (hysteresis).
    sign = np.where(load > on, 1, np.where(load < off, -1, 0)).astype(np.int8)
    sign[0] = 1 if load[0] > off else -1  # a load under way at the start counts as contact
    last_decided = np.maximum.accumulate(np.where(sign != 0, np.arange(n), 0))
    contact = (sign[last_decided] == 1).astype(np.int8)
    edges = np.diff(contact)
    strikes = np.flatnonzero(edges == 1) + 1
    offs = np.flatnonzero(edges == -1) + 1
    if contact[0]:
        offs = offs[1:]  # the contact under way at the start is not complete
    strikes = strikes[:offs.size]  # nor is one still under way at the end
    long_enough = (offs - strikes) / sample_rate_hz >= MIN_CONTACT_S
    strikes, offs = strikes[long_enough], offs[long_enough]
    period = 1.0 / sample_rate_hz
    return FootContacts(np.array(strikes, dtype=np.float64) * period + start_time_s,
                        np.array(offs, dtype=np.float64) * period + start_time_s)
