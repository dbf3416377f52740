// k6 script with the paper's stages for the gateway's POST /sensors (paper-figures.md):
// ramp 0→N virtual users in 5 min, hold N for 30 min, ramp down in 5 min; no sleep between
// requests (k6 VUs loop back to back). Not run in this project: k6 is not packaged in the
// registries available here (see docs/loadtests.md); `python -m loadtests` is the runner we use.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8081 -e USERS=100 loadtests/k6/sensors.js
//   (RAMP / HOLD override the stage lengths, e.g. -e RAMP=30s -e HOLD=2m)
import http from "k6/http";
import { check } from "k6";

const BASE_URL = __ENV.BASE_URL || "http://127.0.0.1:8081";
const USERS = parseInt(__ENV.USERS || "100", 10);
const RAMP = __ENV.RAMP || "5m";
const HOLD = __ENV.HOLD || "30m";

export const options = {
  stages: [
    { duration: RAMP, target: USERS },
    { duration: HOLD, target: USERS },
    { duration: RAMP, target: 0 },
  ],
  thresholds: {
    // The paper's criterion: p99 below 1 s.
    http_req_duration: ["p(99)<1000"],
    http_req_failed: ["rate<0.01"],
  },
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"],
};

const BOOT = Math.floor(Math.random() * 65535) + 1;
let seq = 0;

function uniform(lo, hi, digits) {
  return Number((lo + Math.random() * (hi - lo)).toFixed(digits));
}

export default function () {
  seq += 1;
  const reading = {
    node_id: `k6-${__VU}`,
    boot: BOOT,
    seq: seq,
    profile: "rice",
    values: {
      temperature: uniform(26, 35, 1),
      humidity: uniform(60, 98, 1),
      gas: uniform(2, 6, 2),
      soil_ph: uniform(5.5, 7.5, 2),
      soil_moisture: uniform(40, 80, 2),
      lat: -8.588182,
      lon: 115.10207,
    },
  };
  const res = http.post(`${BASE_URL}/sensors`, JSON.stringify(reading), {
    headers: { "Content-Type": "application/json" },
  });
  check(res, { "status is 200": (r) => r.status === 200 });
}
