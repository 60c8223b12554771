"""A local S3 server for the object-storage tests: moto's server mode on 127.0.0.1 in a process of its own
(the approach pyarrow's and pandas' own tests take). conftest points the standard AWS variables at it before
anything starts, so the driver, Ray's workers (they inherit the environment) and submitted jobs all reach it
as they would reach AWS, GCS's S3 API or MinIO: nothing in the project knows it is a test server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_env(port: int) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}


class S3Server:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.port = int(endpoint.rsplit(":", 1)[1])
        self.process: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2)
                return self
            except OSError:
                assert self.process.poll() is None, "moto's server exited at start"
                time.sleep(0.2)
        raise RuntimeError(f"moto's server did not answer on {self.endpoint}")

    def bucket(self, name: str) -> str:
        """A new empty bucket; returns its s3:// URI."""
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=name)
        return f"s3://{name}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def endpoint_from_env() -> str:
    return os.environ["AWS_ENDPOINT_URL"]
