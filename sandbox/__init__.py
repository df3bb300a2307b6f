"""The sandbox platform: a reference implementation of the platform side of the settlement API,
for demos and tests. It receives our signed settlement requests and answers through our platform
API according to `policies.yaml`."""

from sandbox.app import create_app

__all__ = ["create_app"]
