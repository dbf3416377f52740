"""Physical-range checks: a value no sensor of that kind can produce keeps its raw number
and gets a quality flag `out_of_range:<name>` (the contract's flags). Pure.
"""

from __future__ import annotations

# reading name -> (lowest, highest) the sensors in docs/protocol.md can physically report
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (-40.0, 85.0),
    "humidity": (0.0, 100.0),
    "light": (0.0, 200_000.0),
    "soil_moisture": (0.0, 100.0),
    "gas": (0.0, 10_000.0),
    "soil_ph": (0.0, 14.0),
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
    "soil_raw": (0.0, 1023.0),
    "water_pump": (0.0, 1.0),
    "fertilizer_pump": (0.0, 1.0),
}


def range_flags(values: dict[str, float]) -> list[str]:
    flags = []
    for name, value in values.items():
        bounds = PHYSICAL_RANGES.get(name)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            flags.append(f"out_of_range:{name}")
    return flags
