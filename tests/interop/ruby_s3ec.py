"""AWS's own Ruby S3 encryption client (Debian's ruby-aws-sdk-s3), one operation per call.

``ruby_s3ec.rb`` beside this file reads one JSON request and prints one JSON answer; see its
header for the request fields. The tests use it to check our S3EC against an implementation
we did not write: objects it writes are read by us, and the reverse.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("ruby_s3ec.rb")
TIMEOUT_SECONDS = 300.0


class RubyS3ECError(RuntimeError):
    """The Ruby client failed: ``ruby_class`` is its exception class, ``message`` its text."""

    def __init__(self, ruby_class: str, message: str, stderr: str = "") -> None:
        super().__init__(f"{ruby_class}: {message}")
        self.ruby_class = ruby_class
        self.message = message
        self.stderr = stderr


def _environment() -> dict[str, str]:
    """Ours less any AWS settings: the request alone says where to go and who we are."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["AWS_CONFIG_FILE"] = os.devnull
    environment["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    # The SDK would otherwise ask 169.254.169.254 for credentials or a region it lacks.
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    return environment


@cache
def ruby_available() -> bool:
    """True when ``ruby`` is on PATH and can load aws-sdk-s3 and aws-sdk-kms."""
    ruby = shutil.which("ruby")
    if ruby is None:
        return False
    try:
        probe = subprocess.run(
            [ruby, "-e", "require 'aws-sdk-s3'; require 'aws-sdk-kms'"],
            capture_output=True,
            timeout=60,
            env=_environment(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def run_ruby_s3ec(request: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Run one request through the Ruby client and return its JSON answer.

    Raises RubyS3ECError carrying the Ruby exception's class and message when it fails.
    """
    ruby = shutil.which("ruby")
    if ruby is None:
        raise RubyS3ECError("RubyNotFound", "ruby is not on PATH")
    try:
        completed = subprocess.run(
            [ruby, str(SCRIPT)],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=timeout,
            env=_environment(),
        )
    except subprocess.TimeoutExpired as expired:
        raise RubyS3ECError("Timeout", f"ruby_s3ec.rb ran over {timeout} s") from expired
    stderr = completed.stderr.decode(errors="replace")
    try:
        answer = json.loads(completed.stdout)
    except ValueError:
        raise RubyS3ECError(
            "NoAnswer", f"exit {completed.returncode}, stdout {completed.stdout[:500]!r}", stderr
        ) from None
    if not isinstance(answer, dict):
        raise RubyS3ECError("NoAnswer", f"not a JSON object: {answer!r}", stderr)
    if completed.returncode != 0 or "error" in answer:
        raise RubyS3ECError(str(answer.get("error")), str(answer.get("message")), stderr)
    return answer
