"""Small helpers for tests: ports and waiting."""

from tests.servers import free_port, http_ok, port_open, wait_until

__all__ = ["free_port", "http_ok", "port_open", "wait_until"]
