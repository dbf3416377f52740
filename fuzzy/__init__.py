"""Vectorised Mamdani fuzzy inference: fuzzylite/MATLAB-compatible engines, built-in profiles.

Owns fuzzy/ only: term, norm and defuzzifier definitions, the FLL/FIS/TOML parsers, the
engine and its CLI (`python -m fuzzy`). No I/O outside the loaders and the CLI.
"""

from fuzzy.engine import Engine, Evaluation, InputError
from fuzzy.loader import builtin_profiles, load_profile, load_spec

__all__ = ["Engine", "Evaluation", "InputError", "builtin_profiles", "load_profile", "load_spec"]
