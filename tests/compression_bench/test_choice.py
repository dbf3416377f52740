import pytest

from compression_bench.choice import LINKS_BIT_S, choose_codec
from ingest.codecs import ENCODINGS, compress, decompress


@pytest.mark.parametrize("link", sorted(LINKS_BIT_S))
@pytest.mark.parametrize("size", [0, 100, 4096, 65536, 1 << 20, 1 << 30])
def test_choice_is_a_wire_encoding_that_round_trips(link: str, size: int) -> None:
    encoding, level = choose_codec(size, link)
    assert encoding in ENCODINGS
    data = b'{"id":"x","values":{"temperature":29.5}}\n' * 50
    assert (
        decompress(compress(data, encoding, level if encoding != "identity" else None), encoding)
        == data
    )


def test_default_link_is_gprs() -> None:
    assert choose_codec(10_000) == choose_codec(10_000, "gprs")


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="unknown link 'wifi'"):
        choose_codec(100, "wifi")
    with pytest.raises(ValueError, match="batch_bytes"):
        choose_codec(-1)
