"""The client of a biometrix server (``--server URL``): the service's use cases over HTTPS (httpx, TLS verified),
returning the same core types; it holds no database, key or model."""

from biometrix.client.remote import RemoteBiometrix

__all__ = ["RemoteBiometrix"]
