"""gunicorn settings for the ingest service. `ingest serve` loads this file and overrides
bind/workers from its flags; a deployment runs
`gunicorn -c ingest/deploy/gunicorn.conf.py ingest.wsgi:app` with INGEST_* in the environment."""

import os

bind = os.environ.get("INGEST_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("INGEST_WORKERS", "2"))
# gthread (a slow uplink over GPRS must not hold the only worker) with a read timeout on
# request headers (INGEST_HEADER_TIMEOUT, default 5 s): ingest/gworker.py
worker_class = "ingest.gworker.TimedThreadWorker"
# As many threads as batches a process may decode at once (MAX_INFLIGHT in routes/batches.py).
# A thread waits at most INGEST_BODY_TIMEOUT (5 s) for each byte of a body, so clients that
# stop mid-body hold threads for seconds, not for good; behind nginx (deploy/nginx-ingest.conf
# buffers whole bodies) they never reach a thread at all.
threads = int(os.environ.get("INGEST_THREADS", "8"))
timeout = 120  # a 16 MiB batch over a slow link, decompressed and stored in one transaction
graceful_timeout = 30
keepalive = 30
max_requests = 10_000  # recycle workers to cap slow leaks; jitter avoids all at once
max_requests_jitter = 1_000
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("INGEST_ACCESS_LOG") or None  # unset/empty = off; "-" = stdout
errorlog = "-"
loglevel = os.environ.get("INGEST_LOG_LEVEL", "info")
preload_app = False  # each worker opens its own sqlite connections
forwarded_allow_ips = "127.0.0.1"
control_socket_disable = True  # several servers share a machine in tests and demos
