"""Whole-file writes that a reader never sees half-done, on a local disk or an object store."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

from upath import UPath

_LOCAL_PROTOCOLS = ("", "file", "local")


class WarehouseUnavailableError(RuntimeError):
    """The warehouse cannot be written: raised before any request to the API is spent."""


def is_local(path: UPath) -> bool:
    return path.protocol in _LOCAL_PROTOCOLS


def write_atomic(path: UPath, data: bytes) -> None:
    """Publish `data` at `path` in one step: temp file + rename locally, one PUT on S3.

    An object store makes an object visible only when its upload completes, so a
    single `pipe` is already atomic there; a local file needs the rename.
    """
    if is_local(path):
        _write_local_atomic(os.fspath(path.path), data)
    else:
        path.fs.pipe_file(path.path, data)


def _create_temp(local: str) -> tuple[int, str]:
    """A new temp file beside `local`, mode 0666 less the umask (mkstemp would force 0600)."""
    directory = os.path.dirname(local) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}-{os.path.basename(local)}")
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp


def _write_local_atomic(local: str, data: bytes) -> None:
    """Temp file + rename; created with 0666 so the umask decides the mode (0644 under 0022).

    `tempfile.mkstemp` would force 0600, and `os.replace` keeps that: other users, containers
    and DVC on shared storage could not read what was published.
    """
    fd, tmp = _create_temp(local)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, local)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def as_upath(location: str | os.PathLike[str]) -> UPath:
    """A warehouse location (local path or URL) as an absolute UPath."""
    text = os.fspath(location)
    if "://" in text:
        return UPath(text, **_filesystem_options(text))
    return UPath(os.path.abspath(text))


def _filesystem_options(url: str) -> dict:
    """The S3 endpoint of the environment, passed explicitly: fsspec caches a filesystem per
    set of arguments, and one built without them keeps whatever endpoint botocore read first
    (a later AWS_ENDPOINT_URL, another MinIO or moto, would never be seen)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if urlsplit(url).scheme in ("s3", "s3a") and endpoint:
        return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


def check_warehouse(location: str | os.PathLike[str]) -> None:
    """Fail fast, naming bucket and endpoint, when an s3:// warehouse cannot be reached.

    Called before the first API request so a typo costs nothing. Never creates a bucket:
    a mistyped name must fail, not silently become a new, empty warehouse. It lists one key
    under the warehouse prefix rather than HeadBucket: HeadBucket needs `s3:ListBucket` on
    the whole bucket, which deploy/iam/warehouse-runs.json grants only for the prefix.
    """
    text = os.fspath(location)
    if "://" not in text or urlsplit(text).scheme not in ("s3", "s3a"):
        return
    from botocore.exceptions import BotoCoreError, ClientError
    from dagster_aws.s3 import S3Resource

    parts = urlsplit(text)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    client = S3Resource(max_attempts=2).get_client()
    where = f"warehouse {text}: bucket {bucket!r} at endpoint {client.meta.endpoint_url}"
    try:
        client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "", MaxKeys=1)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            reason = "does not exist (nba-assets never creates buckets; create it or fix NBA_ASSETS_WAREHOUSE)"
        elif code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            reason = f"refused access ({code}): check the AWS credentials and the bucket policy"
        else:
            reason = f"failed ({code}): {error}"
        raise WarehouseUnavailableError(f"{where} {reason}") from None
    except BotoCoreError as error:
        raise WarehouseUnavailableError(
            f"{where} is unreachable or unusable ({type(error).__name__}: {error}); check AWS_ENDPOINT_URL and the AWS credentials"
        ) from None
