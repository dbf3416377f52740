"""Optimal bands drawn as thresholds on the node-detail dashboard, and where each comes from.

Orchid bands are the ranges where the "optimal" input term of the published Mamdani profile
(../shared/spec/fuzzy-orchid.md) has the highest membership — i.e. between the crossover of
`low`/`optimal` and of `optimal`/`high`. The soil_raw band is the watering paper's "normal"
range (HW-080 raw 400-900). Sensors without a published band (gas, soil_ph, soil_moisture,
lat/lon) are drawn without thresholds rather than with invented ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sensor:
    field: str
    title: str
    unit: str
    band: tuple[float, float] | None
    source: str


SENSORS: tuple[Sensor, ...] = (
    Sensor("temperature", "Air temperature", "celsius", (20.5, 25.5), "orchid profile"),
    Sensor("humidity", "Air humidity", "humidity", (63.75, 71.25), "orchid profile"),
    Sensor("light", "Light", "lux", (14_000.0, 18_000.0), "orchid profile"),
    Sensor("soil_moisture", "Soil moisture", "percent", None, "no published band"),
    Sensor("soil_raw", "Soil moisture (raw ADC)", "none", (400.0, 900.0), "watering paper"),
    Sensor("gas", "Gas (MQ-2)", "ppm", None, "no published band"),
    Sensor("soil_ph", "Soil pH", "none", None, "no published band"),
)

# Label bands of the fuzzy score (fuzzy-orchid.md): <25, <50, <75, else optimal.
SCORE_STEPS: tuple[tuple[float | None, str], ...] = (
    (None, "dark-red"),
    (25.0, "orange"),
    (50.0, "yellow"),
    (75.0, "green"),
)
LABEL_COLORS = {
    "sangat_buruk": "dark-red",
    "buruk": "orange",
    "sedang": "yellow",
    "optimal": "green",
}
