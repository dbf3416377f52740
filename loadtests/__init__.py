"""Reproducible load tests (issue 8): a locustfile for the gateway's `POST /sensors` and the
ingest's `POST /v1/batches`, a runner (`python -m loadtests run ...`) that starts the server
under test on a loopback port, runs the stages headless, samples the server's CPU and writes
CSV, summary.json, a Markdown summary beside the paper's k6 table and a PNG chart; and a k6
script with the paper's stages (loadtests/k6/). It owns no server code: it drives `ingest
serve` and `edge-agent run` as a client would.
"""
