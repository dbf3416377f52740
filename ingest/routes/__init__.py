"""HTTP routes, one blueprint per area: batches (uplink), read (app/web API), meta
(health, metrics, OpenAPI)."""
