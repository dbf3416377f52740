"""Sources: where readings enter the agent. serial (pyserial, one thread per port), http
(`POST /sensors`, the paper's route for GPRS nodes) and mqtt (paho-mqtt subscription). Each
decodes and validates its input, counts it the uniform way (received / discarded by reason
/ errors) and submits Candidates to the group committer; none of them touches the buffer.
"""
