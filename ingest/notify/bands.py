"""Optimal bands per profile, for out-of-band notifications.

The seam: `optimal_bands(profile)` asks the fuzzy package (`fuzzy.load_profile(name)
.optimal_bands -> {sensor: (low, high)}`) and falls back to the table below when fuzzy/ is
not installed or does not know the profile. The fallback holds the orchid paper's examples:
notify above 30 °C and below 60 %RH. `None` = no bound on that side. Sensors in
`NOT_NOTIFIED` are left out.
"""

from __future__ import annotations

from functools import lru_cache

Band = tuple[float | None, float | None]

FALLBACK_BANDS: dict[str, dict[str, Band]] = {
    "orchid": {"temperature": (None, 30.0), "humidity": (60.0, None)},
}

# Sensors whose band is not notified: light follows the day, and every night below the
# orchid's 12,000 lux would otherwise wake the grower.
NOT_NOTIFIED = frozenset({"light"})

# How far back inside the band a value must come before its alarm clears (hysteresis).
DEADBANDS: dict[str, float] = {
    "temperature": 0.5,
    "humidity": 2.0,
    "soil_moisture": 2.0,
    "soil_ph": 0.1,
    "light": 500.0,
    "gas": 0.2,
}
DEFAULT_DEADBAND_FRACTION = 0.02


@lru_cache(maxsize=64)
def optimal_bands(profile: str | None) -> dict[str, Band]:
    if not profile:
        return {}
    try:
        from fuzzy import load_profile  # type: ignore[import-not-found]

        bands = dict(load_profile(profile).optimal_bands)
    except Exception:  # fuzzy/ absent or profile unknown: the paper's table
        bands = FALLBACK_BANDS.get(profile, {})
    return {name: (low, high) for name, (low, high) in bands.items() if name not in NOT_NOTIFIED}


def deadband(sensor: str, threshold: float) -> float:
    return DEADBANDS.get(sensor, abs(threshold) * DEFAULT_DEADBAND_FRACTION or 0.1)
