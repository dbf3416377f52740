import pytest

from compression_bench import datasets, transfer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind,codec", [("paper", "bzip2-9"), ("gateway", "zstd-3")])
def test_a_dump_goes_through_the_real_ingest_service(kind: str, codec: str) -> None:
    data_set = datasets.paper_sets(300, [1])[0] if kind == "paper" else datasets.gateway_set(300)
    run = transfer.transfer_one(data_set, codec)
    assert run["accepted"] == 300 and run["rejected"] == 0 and run["duplicates"] == 0
    assert run["decompress_s"] > 0 and run["parse_s"] > 0 and run["write_s"] > 0
    assert run["bytes"] < len(data_set.data) / 4


def test_transfers_split_send_time_by_link() -> None:
    sets = [datasets.paper_sets(200, [1])[0]]
    doc = transfer.run_transfers(sets, ["identity", "gzip-6", "tlm-xz-9"], progress=False)
    runs = {(r["codec"], r["link"]): r for r in doc["runs"]}
    gz, ident = runs[("gzip-6", "gprs")], runs[("identity", "gprs")]
    assert gz["send_s"] == pytest.approx(gz["bytes"] * 8 / 40e3)
    assert gz["send_s"] < ident["send_s"] / 4
    assert runs[("gzip-6", "lan")]["send_s"] < gz["send_s"] / 1000
    assert runs[("tlm-xz-9 (modelled)", "gprs")]["bytes"] < gz["bytes"]
