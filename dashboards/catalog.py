"""The four dashboards, as data: fleet overview, node detail, uplink & compression, ingest
health. Every query reads the measurements of docs/influx-schema.md and nothing else.
`python -m dashboards` writes them to dashboards/grafana/*.json.
"""

from __future__ import annotations

from dashboards.bands import LABEL_COLORS, SCORE_STEPS, SENSORS
from dashboards.panels import (
    GATEWAY_FILTER,
    NODE_FILTER,
    READING_MEASUREMENTS,
    Json,
    dashboard,
    gateway_variable,
    node_variable,
    stat,
    table,
    target,
    thresholds,
    timeseries,
)

BATCHES = f'FROM "ingest_batches" WHERE {GATEWAY_FILTER} AND $timeFilter'
FAILED_BATCHES = BATCHES.replace("WHERE", "WHERE \"status\" != '200' AND")
REPLAYED_BATCHES = BATCHES.replace("WHERE", 'WHERE "replayed" = true AND')
READINGS = f"FROM {READING_MEASUREMENTS} WHERE {GATEWAY_FILTER} AND $timeFilter"


def fleet_overview() -> Json:
    panels = [
        stat(
            "Gateways shipping",
            f'SELECT count("last") FROM (SELECT last("accepted") {BATCHES} GROUP BY "gateway")',
            (0, 0, 4, 4),
            description="Gateways that shipped at least one batch in the time range.",
        ),
        stat(
            "Nodes reporting",
            f'SELECT count("last") FROM (SELECT last("seq") {READINGS} GROUP BY "gateway", "node")',
            (4, 0, 4, 4),
            total=True,
            description="Nodes with at least one reading in the time range.",
        ),
        stat(
            "Buffered rows (all gateways)",
            'SELECT sum("last") FROM (SELECT last("buffer_rows") FROM "gateway_status" '
            f'WHERE {GATEWAY_FILTER} AND $timeFilter GROUP BY "gateway")',
            (8, 0, 4, 4),
            description="Readings waiting in the gateways' durable buffers (last report each).",
            defaults={"thresholds": thresholds((None, "green"), (10_000, "orange"))},
        ),
        stat(
            "Alerts",
            f'SELECT count("message") FROM "notifications" WHERE {GATEWAY_FILTER} AND $timeFilter',
            (12, 0, 4, 4),
            defaults={"thresholds": thresholds((None, "green"), (1, "red"))},
        ),
        stat(
            "Critical alerts",
            'SELECT count("message") FROM "notifications" '
            f"WHERE {GATEWAY_FILTER} AND \"severity\" = 'critical' AND $timeFilter",
            (16, 0, 4, 4),
            defaults={"thresholds": thresholds((None, "green"), (1, "dark-red"))},
        ),
        stat(
            "Readings stored",
            f'SELECT count("seq") {READINGS}',
            (20, 0, 4, 4),
            total=True,
        ),
        table(
            "Nodes last seen",
            f'SELECT last("seq") AS "seq" {READINGS} GROUP BY "gateway", "node"',
            (0, 4, 12, 9),
            description="Time = the node's last reading; seq = its last sequence number.",
        ),
        table(
            "Recent alerts",
            'SELECT "severity", "message", "value" FROM "notifications" '
            f'WHERE {GATEWAY_FILTER} AND $timeFilter GROUP BY "gateway", "node", "kind"',
            (12, 4, 12, 9),
        ),
        timeseries(
            "Buffer depth (rows)",
            [
                target(
                    'SELECT last("buffer_rows") FROM "gateway_status" '
                    f'WHERE {GATEWAY_FILTER} AND $timeFilter GROUP BY time($__interval), "gateway" '
                    "fill(none)",
                    alias="$tag_gateway",
                )
            ],
            (0, 13, 12, 8),
        ),
        timeseries(
            "Readings per interval by gateway",
            [
                target(
                    f'SELECT count("seq") {READINGS} GROUP BY time($__interval), "gateway" fill(0)',
                    alias="$tag_gateway $measurement",
                )
            ],
            (12, 13, 12, 8),
        ),
    ]
    return dashboard(
        "subak-fleet",
        "Subak — fleet overview",
        "Gateways, nodes last seen, buffer depth and alerts across the fleet.",
        panels,
        [gateway_variable()],
    )


def node_detail() -> Json:
    node_where = f"FROM {READING_MEASUREMENTS} WHERE {NODE_FILTER} AND $timeFilter"
    panels: list[Json] = [
        timeseries(
            "Fuzzy score",
            [
                target(
                    f'SELECT mean("score") {node_where} GROUP BY time($__interval), "node" '
                    "fill(none)",
                    alias="$tag_node",
                )
            ],
            (0, 0, 12, 8),
            description="Crisp growth score 0-100; colours are the label bands (25/50/75).",
            defaults={"min": 0, "max": 100, "thresholds": thresholds(*SCORE_STEPS)},
        ),
        {
            **timeseries(
                "Label timeline",
                [
                    target(
                        f'SELECT last("label") {node_where} GROUP BY time($__interval), "node" '
                        "fill(none)",
                        alias="$tag_node",
                    )
                ],
                (12, 0, 12, 8),
                defaults={
                    "mappings": [
                        {
                            "type": "value",
                            "options": {
                                label: {"color": color, "index": i}
                                for i, (label, color) in enumerate(LABEL_COLORS.items())
                            },
                        }
                    ],
                    "color": {"mode": "thresholds"},
                },
            ),
            "type": "state-timeline",
            "options": {"showValue": "auto", "mergeValues": True, "rowHeight": 0.9},
        },
    ]
    for index, sensor in enumerate(SENSORS):
        x, y = (index % 2) * 12, 8 + (index // 2) * 8
        band_note = (
            f"Optimal band {sensor.band[0]:g}-{sensor.band[1]:g} ({sensor.source})."
            if sensor.band
            else f"No optimal band drawn ({sensor.source})."
        )
        panels.append(
            timeseries(
                sensor.title,
                [
                    target(
                        f'SELECT mean("{sensor.field}") {node_where} '
                        'GROUP BY time($__interval), "node" fill(none)',
                        alias="$tag_node",
                    )
                ],
                (x, y, 12, 8),
                band=sensor.band,
                unit=sensor.unit,
                description=band_note,
            )
        )
    return dashboard(
        "subak-node",
        "Subak — node detail",
        "Each sensor's trend with its optimal band, the fuzzy score and the label timeline.",
        panels,
        [gateway_variable(), node_variable()],
    )


def uplink_compression() -> Json:
    panels = [
        stat(
            "Space saving",
            f'SELECT (1 - sum("bytes_compressed") / sum("bytes_raw")) * 100 {BATCHES}',
            (0, 0, 6, 4),
            unit="percent",
            description="The paper measured 80.6 % (gzip) and 86.5 % (bzip2).",
        ),
        stat(
            "Batches",
            f'SELECT count("accepted") {BATCHES}',
            (6, 0, 6, 4),
        ),
        stat(
            "Bytes on the wire",
            f'SELECT sum("bytes_compressed") {BATCHES}',
            (12, 0, 6, 4),
            unit="decbytes",
        ),
        stat(
            "Bytes before compression",
            f'SELECT sum("bytes_raw") {BATCHES}',
            (18, 0, 6, 4),
            unit="decbytes",
        ),
        timeseries(
            "Batches per interval by gateway",
            [
                target(
                    f'SELECT count("accepted") {BATCHES} GROUP BY time($__interval), "gateway" '
                    "fill(0)",
                    alias="$tag_gateway",
                )
            ],
            (0, 4, 12, 8),
        ),
        timeseries(
            "Compression ratio by encoding",
            [
                target(
                    f'SELECT sum("bytes_raw") / sum("bytes_compressed") AS "ratio" {BATCHES} '
                    'GROUP BY time($__interval), "encoding" fill(none)',
                    alias="$tag_encoding",
                )
            ],
            (12, 4, 12, 8),
            description="raw / compressed bytes; the paper: gzip 5.164, bzip2 7.42.",
        ),
        timeseries(
            "Time per stage (mean per batch)",
            [
                target(
                    f'SELECT mean("decompress_ms") AS "decompress", mean("parse_ms") AS "parse", '
                    f'mean("write_ms") AS "write" {BATCHES} GROUP BY time($__interval) fill(none)'
                )
            ],
            (0, 12, 12, 8),
            unit="ms",
            stacked=True,
            description="The paper's receive+parse / decompress / merge split, per batch.",
        ),
        table(
            "Stage times and ratio by encoding",
            f'SELECT count("accepted") AS "batches", mean("decompress_ms") AS "decompress_ms", '
            f'mean("parse_ms") AS "parse_ms", mean("write_ms") AS "write_ms", '
            f'sum("bytes_raw") / sum("bytes_compressed") AS "ratio" {BATCHES} '
            'GROUP BY "encoding"',
            (12, 12, 12, 8),
        ),
    ]
    return dashboard(
        "subak-uplink",
        "Subak — uplink & compression",
        "Batches shipped by the gateways, compression ratios and time per ingest stage.",
        panels,
        [gateway_variable()],
    )


def ingest_health() -> Json:
    panels = [
        stat(
            "Failed batches",
            f'SELECT count("accepted") {FAILED_BATCHES}',
            (0, 0, 6, 4),
            defaults={"thresholds": thresholds((None, "green"), (1, "red"))},
        ),
        stat(
            "Replayed batches",
            f'SELECT count("accepted") {REPLAYED_BATCHES}',
            (6, 0, 6, 4),
            description="Batches resent with a known Idempotency-Key (answered from the log).",
        ),
        stat(
            "Readings rejected",
            f'SELECT sum("rejected") {BATCHES}',
            (12, 0, 6, 4),
            defaults={"thresholds": thresholds((None, "green"), (1, "orange"))},
        ),
        stat(
            "p95 request work (ms)",
            'SELECT percentile("total", 95) FROM (SELECT "decompress_ms" + "parse_ms" + '
            f'"write_ms" AS "total" {BATCHES})',
            (18, 0, 6, 4),
            unit="ms",
        ),
        timeseries(
            "Batches by HTTP status",
            [
                target(
                    f'SELECT count("accepted") {BATCHES} GROUP BY time($__interval), "status" '
                    "fill(0)",
                    alias="HTTP $tag_status",
                )
            ],
            (0, 4, 12, 8),
        ),
        timeseries(
            "Readings accepted / duplicates / rejected",
            [
                target(
                    f'SELECT sum("accepted") AS "accepted", sum("duplicates") AS "duplicates", '
                    f'sum("rejected") AS "rejected" {BATCHES} GROUP BY time($__interval) fill(0)'
                )
            ],
            (12, 4, 12, 8),
            stacked=True,
        ),
        timeseries(
            "Write latency p50 / p95 / p99",
            [
                target(
                    f'SELECT percentile("write_ms", 50) AS "p50", percentile("write_ms", 95) AS '
                    f'"p95", percentile("write_ms", 99) AS "p99" {BATCHES} '
                    "GROUP BY time($__interval) fill(none)"
                )
            ],
            (0, 12, 12, 8),
            unit="ms",
        ),
        timeseries(
            "Batch rate (per second)",
            [
                target(
                    f'SELECT count("accepted") / ($__interval_ms / 1000) {BATCHES} '
                    "GROUP BY time($__interval) fill(0)",
                    alias="batches/s",
                )
            ],
            (12, 12, 12, 8),
            unit="reqps",
        ),
    ]
    return dashboard(
        "subak-ingest",
        "Subak — ingest health",
        "The ingest service's batches: status codes, accepted/duplicate/rejected readings, "
        "latency and replays.",
        panels,
        [gateway_variable()],
    )


DASHBOARDS = {
    "fleet-overview": fleet_overview,
    "node-detail": node_detail,
    "uplink-compression": uplink_compression,
    "ingest-health": ingest_health,
}
