"""Load an engine from a built-in profile name or a file (.toml native, .fll, .fis)."""

from __future__ import annotations

from pathlib import Path

from fuzzy.engine import Engine
from fuzzy.model import EngineSpec
from fuzzy.native import load_native

PROFILE_DIR = Path(__file__).parent / "profiles"


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_spec(name_or_path: str | Path) -> EngineSpec:
    text = str(name_or_path)
    if text in builtin_profiles():
        return load_native(PROFILE_DIR / f"{text}.toml")
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(
            f"{text!r} is neither a built-in profile ({', '.join(builtin_profiles())}) "
            "nor an engine file"
        )
    suffix = path.suffix.lower()
    if suffix == ".fll":
        from fuzzy.fll import load_fll

        return load_fll(path)
    if suffix == ".fis":
        from fuzzy.fis import load_fis

        return load_fis(path)
    return load_native(path)


def load_profile(name_or_path: str | Path, **engine_options) -> Engine:
    """An Engine for a built-in profile (orchid, rice, watering) or a .toml/.fll/.fis file."""
    return Engine(load_spec(name_or_path), **engine_options)
