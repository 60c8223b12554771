"""Where runs live: a local directory or an object store (`s3://…`, `gs://…`), as one kind of path.

Paths are `universal_pathlib` paths over fsspec (s3fs, gcsfs): a local path is a `pathlib.Path`, a remote one
joins, lists, reads and writes the same way, and `str()` of it is the URI that Ray Data, Ray Train, pandas and
pyarrow take as they are (their own filesystems read the same standard environment: `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`; for GCS, its application default credentials).
What differs is said here once: an object store has no directories and no rename, so "make a directory" is
nothing there, a folder is replaced by copying then deleting, and a single object written is already atomic.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Union

from judge_ray.errors import UserError

logger = logging.getLogger(__name__)

REMOTE_SCHEMES = ("s3", "gs", "gcs")
# Forwarded from the driver to Ray's workers (`cluster.connect`), so that an engine or a train worker on any
# node reaches the same store with the same credentials as the job that names it.
CLOUD_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS",
             "GOOGLE_CLOUD_PROJECT", "STORAGE_EMULATOR_HOST")

PathLike = Union[str, os.PathLike]


def scheme(path: PathLike) -> str:
    text = str(path)
    return text.split("://", 1)[0].lower() if "://" in text else ""


def is_remote(path: PathLike) -> bool:
    return scheme(path) in REMOTE_SCHEMES or (hasattr(path, "protocol") and getattr(path, "protocol") not in
                                               ("", "file", "local"))


def location(path: PathLike):
    """A path for `path`: a `pathlib.Path` when local, an fsspec-backed `UPath` for `s3://` and `gs://`.
    Listings are never cached: the files of a stage are written by other processes while the driver polls."""
    if hasattr(path, "protocol") and not isinstance(path, str):
        return path
    text = str(path)
    kind = scheme(text)
    if not kind:
        return Path(text).expanduser()
    if kind not in REMOTE_SCHEMES:
        raise UserError(f"{text}: unsupported storage scheme {kind}:// (use a local path, s3:// or gs://)")
    from upath import UPath

    # The endpoint is part of the options, so a changed AWS_ENDPOINT_URL gets its own client (fsspec caches one
    # per set of options); credentials and region stay with botocore's standard chain.
    options = ({"use_listings_cache": False, "endpoint_url": os.environ.get("AWS_ENDPOINT_URL") or None}
               if kind == "s3" else {"cache_timeout": 0})
    return UPath(text, **options)


def absolute(path: PathLike) -> str:
    """The path as every process of the cluster names it: a URI, or an absolute local path."""
    return str(path) if is_remote(path) else str(Path(path).resolve())


def makedirs(path: PathLike) -> None:
    """A directory for files to go in: on an object store there is nothing to make (and s3fs would create a
    missing bucket, where a missing bucket is the user's mistake to be told about)."""
    if not is_remote(path):
        Path(path).mkdir(parents=True, exist_ok=True)


def rmtree(path: PathLike) -> None:
    """Delete a folder and everything under it; nothing when it is not there."""
    if not is_remote(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    p = location(path)
    try:
        if p.fs.exists(p.path):
            p.fs.rm(p.path, recursive=True)
    except FileNotFoundError:
        pass


def write_text(path: PathLike, text: str) -> None:
    """Write a whole file so that a reader sees the old one or the new one, never half: a local file through a
    temporary name renamed into place; an object is replaced whole by its single PUT."""
    if is_remote(path):
        location(path).write_text(text)
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def replace_dir(src: PathLike, dst: PathLike) -> None:
    """`src` becomes `dst` (an old `dst` deleted): a rename locally; on an object store a copy of every object
    then the deletion of `src`, so callers mark a folder finished only after this returns."""
    rmtree(dst)
    if not is_remote(src):
        os.replace(src, dst)
        return
    s, d = location(src), location(dst)
    files = [f for f in s.fs.find(s.path)]
    for f in files:
        s.fs.copy(f, d.path + f[len(s.path.rstrip("/")):])
    rmtree(src)


def upload_dir(local: PathLike, remote: PathLike) -> None:
    """A local directory copied to `remote` (what was there before deleted first)."""
    r = location(remote)
    rmtree(remote)
    r.fs.put(str(Path(local)).rstrip("/") + "/", r.path.rstrip("/") + "/", recursive=True)


def fetch_dir(remote: PathLike, cache: Path) -> Path:
    """A remote directory (a model) as a local one under `cache`, downloaded once per version of its files (the
    key hashes every object's name, size and ETag or mtime), so an engine on any node loads it from its own
    disk and a re-exported model at the same URI is fetched again."""
    r = location(remote)
    try:
        found = r.fs.find(r.path, detail=True)
    except (FileNotFoundError, PermissionError, OSError) as exc:
        raise UserError(f"{remote}: {describe(exc)}") from None
    if not found:
        raise UserError(f"{remote}: no such directory")
    key = hashlib.sha256(str(remote).encode())
    for name, info in sorted(found.items()):
        key.update(f"{name}\0{info.get('size')}\0{info.get('ETag') or info.get('mtime') or info.get('updated')}"
                   .encode())
    target = cache / "remote" / key.hexdigest()[:20]
    if (target / ".complete").is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / ".complete").is_file():
            tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
            try:
                r.fs.get(r.path.rstrip("/") + "/", str(tmp) + "/", recursive=True)
                (tmp / ".complete").write_text(str(remote) + "\n")
                shutil.rmtree(target, ignore_errors=True)
                os.replace(tmp, target)
                logger.info(f"[storage] fetched {remote} to {target}")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return target


def save_figure(fig, path: PathLike) -> None:
    """A matplotlib figure as a PNG file, local or on an object store (matplotlib writes local files only)."""
    if not is_remote(path):
        fig.savefig(path, dpi=100)
        return
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    location(path).write_bytes(buf.getvalue())


def describe(exc: BaseException) -> str:
    """A filesystem error on one line (botocore's and gcsfs's own words, without their tracebacks)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def check_writable(root: PathLike) -> None:
    """Fail fast, on one line naming the URI, when a remote run root cannot be written (no such bucket, no
    credentials, no network), before anything is started or half-written: a small object is put and deleted."""
    if not is_remote(root):
        return
    p = location(root)
    probe = f"{p.path.rstrip('/')}/.judge_ray_probe"
    try:  # a put, not an existence check: that one answers "no" for a server it cannot reach
        p.fs.pipe(probe, b"ok")
        p.fs.rm(probe)
    except Exception as exc:  # botocore, gcsfs and aiohttp errors: all mean "this root can't be written"
        raise UserError(f"run.root {root} cannot be written: {describe(exc)}") from None
