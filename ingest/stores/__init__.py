"""Reading stores behind one small interface (`base.Store`): `sqlite:///PATH` (embedded
default) and `influxdb://…` (influxdb-client v2 write API). `open_store(url)` picks one."""

from __future__ import annotations

from pathlib import Path

from ingest.stores.base import Store


def open_store(url: str, var_dir: Path | None = None) -> Store:
    if url.startswith("sqlite:///"):
        from ingest.stores.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    if url.startswith(("influxdb://", "influxdbs://")):
        from ingest.stores.influx import InfluxStore

        return InfluxStore.from_url(url, var_dir=var_dir)
    raise ValueError(
        f"unknown store URL {url!r}: use sqlite:///PATH or influxdb://HOST:PORT/BUCKET"
    )
