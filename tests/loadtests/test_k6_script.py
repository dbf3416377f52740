"""The k6 script carries the paper's stages and criterion (k6 itself cannot run here)."""

import re
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "loadtests" / "k6" / "sensors.js"


def test_k6_script_has_the_papers_stages_and_threshold():
    text = SCRIPT.read_text()
    assert 'const RAMP = __ENV.RAMP || "5m";' in text
    assert 'const HOLD = __ENV.HOLD || "30m";' in text
    stages = re.findall(r"\{ duration: (\w+), target: (\w+) \}", text)
    assert stages == [("RAMP", "USERS"), ("HOLD", "USERS"), ("RAMP", "0")]
    assert '"p(99)<1000"' in text
    assert "/sensors" in text and '"node_id"' not in text  # built as a JS object
    for key in ("node_id", "boot", "seq", "values", "profile"):
        assert re.search(rf"\b{key}:", text), key
