"""Locust user classes (run by `python -m loadtests run`, or by hand:
`locust -f loadtests/locustfile.py --host http://127.0.0.1:PORT NoWaitNodeUser`).

- NodeUser: one field node posting one reading to the gateway's `POST /sensors` every 5 s
  (LOADTEST_PROFILE = orchid (default, scored by the agent's fuzzy engine) or rice).
- NoWaitNodeUser: the same request with no pause, like the paper's k6 virtual users.
- GatewayBatchUser: one gateway shipping gzip NDJSON batches to the ingest's
  `POST /v1/batches` with its own token (LOADTEST_TOKENS = JSON file {gateway_id: token});
  LOADTEST_BATCH_SIZE readings a batch (default 120: one node's 10 minutes at 5 s),
  LOADTEST_BATCH_PACING seconds between a gateway's batches (default 0: back to back).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid

from locust import FastHttpUser, constant, constant_pacing, task

from loadtests.payloads import batch_body, batch_readings, sensor_reading

_user_numbers = itertools.count()
PROFILE = os.environ.get("LOADTEST_PROFILE", "orchid")


class NodeUser(FastHttpUser):
    wait_time = constant_pacing(5)

    def on_start(self) -> None:
        number = next(_user_numbers)
        self.node_id = f"lt-{os.getpid() % 10_000}-{number}"
        self.boot = random.randrange(1, 2**16)
        self.seq = 0
        self.rng = random.Random(number)

    @task
    def post_reading(self) -> None:
        self.seq += 1
        body = sensor_reading(self.node_id, self.boot, self.seq, self.rng, PROFILE)
        with self.client.post(
            "/sensors", json=body, name="POST /sensors", catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")


class NoWaitNodeUser(NodeUser):
    wait_time = constant(0)


def _tokens() -> list[tuple[str, str]]:
    path = os.environ.get("LOADTEST_TOKENS", "")
    if not path:
        return []
    with open(path) as f:
        return sorted(json.load(f).items())


class GatewayBatchUser(FastHttpUser):
    wait_time = constant_pacing(float(os.environ.get("LOADTEST_BATCH_PACING", "0")))
    batch_size = int(os.environ.get("LOADTEST_BATCH_SIZE", "120"))
    nodes_per_gateway = 12
    tokens = _tokens()

    def on_start(self) -> None:
        if not self.tokens:
            raise RuntimeError("LOADTEST_TOKENS must name a JSON file {gateway_id: token}")
        number = next(_user_numbers)
        self.gateway_id, token = self.tokens[number % len(self.tokens)]
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
        }
        self.node_ids = [f"{self.gateway_id}-n{i:02d}" for i in range(self.nodes_per_gateway)]
        self.next_seq = random.randrange(2**20) * 1_000
        self.rng = random.Random(number)

    @task
    def ship_batch(self) -> None:
        readings = batch_readings(
            self.gateway_id, self.node_ids, self.next_seq, self.batch_size, self.rng
        )
        self.next_seq += self.batch_size // self.nodes_per_gateway + 1
        headers = dict(self.headers, **{"Idempotency-Key": str(uuid.uuid4())})
        with self.client.post(
            "/v1/batches",
            data=batch_body(readings),
            headers=headers,
            name="POST /v1/batches",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
            elif r.json().get("accepted") != len(readings):
                r.failure(f"accepted {r.json().get('accepted')} of {len(readings)}")
