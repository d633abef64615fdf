"""`train --managed --checkpoint-bucket s3://BUCKET[/PREFIX]`: a managed job's checkpoints also
leave for S3 as the controller syncs them home, so a recovery on a controller machine without
the home copy (another machine, a lost home folder) still resumes from the newest save.

Objects are keyed PREFIX/<deployment-id>/<job-id>/<path under the job's logs/>, the layout of
the home copy (checkpoint_sync.home_logs), so the bucket and home hold the same tree. An S3
PUT is atomic: a preemption mid-upload never leaves a truncated checkpoint under its real key.

Credentials come from the user's normal AWS chain (the deployment's --profile, environment,
SSO, instance role); nothing of them is written to state or sent to the host. boto3 is
imported only when a bucket is named."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError, UserError
from isaacctl.services.jobs.checkpoints import newest_checkpoint

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord

FLAG = "--checkpoint-bucket"
NOT_YET = ("gs://", "az://", "oss://")
# Uploaded before checkpoints in a pass: a checkpoint in the bucket always has its run's configs.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".zip")


@dataclass(frozen=True)
class BucketUrl:
    bucket: str
    prefix: str  # without slashes at either end; "" for the bucket's root

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


def parse(url: str) -> BucketUrl:
    """The flag's value, checked offline (UserError naming the flag)."""
    if url.startswith(NOT_YET):
        raise UserError(f"{FLAG}: {url.split('://', 1)[0]}:// is not supported yet: S3 only (s3://BUCKET[/PREFIX])")
    if not url.startswith("s3://"):
        raise UserError(f"{FLAG}: expected s3://BUCKET[/PREFIX], got {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    # S3's bucket naming rules, so a typo is said here and not as an opaque API error
    if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in ".-" for c in bucket):
        raise UserError(f"{FLAG}: {bucket!r} is not an S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
    return BucketUrl(bucket, prefix.strip("/"))


@lru_cache(maxsize=4)
def _client(profile: str | None, region: str | None) -> Any:
    """One client for the process: `watch` syncs every job each pass, and a boto3 session
    loads its endpoint data and service model (~0.3 s) once."""
    import boto3.session
    from botocore.config import Config

    session = boto3.session.Session(profile_name=profile, region_name=region)
    return session.client("s3", config=Config(retries={"mode": "standard"}, connect_timeout=10, read_timeout=60))


class CheckpointBucket:
    """One managed job's folder in the bucket."""

    def __init__(self, url: BucketUrl, *, profile: str | None, region: str | None, deployment_id: str, job_id: str):
        self.url = url
        self.profile, self.region = profile, region
        self.root = "/".join(p for p in (url.prefix, deployment_id, job_id) if p) + "/"
        self._s3: Any = None

    @classmethod
    def of(cls, url: str, record: DeploymentRecord, job_id: str) -> CheckpointBucket:
        if record.provider != "aws":
            raise UserError(
                f"{FLAG}: s3:// goes with AWS deployments; {record.name} is on {record.provider} (leave the flag out)"
            )
        return cls(
            parse(url),
            profile=record.options.get("profile"),
            region=record.region,
            deployment_id=record.id,
            job_id=job_id,
        )

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            try:
                self._s3 = _client(self.profile, self.region)
            except Exception as exc:  # ProfileNotFound and friends
                raise self._error(exc, "opening S3") from None
        return self._s3

    def _error(self, exc: BaseException, doing: str) -> ProviderError:
        from isaacctl.providers.aws.errors import aws_error

        found = aws_error(exc, f"{doing} ({self.url})")
        return found if isinstance(found, ProviderError) else ProviderError(found.message)

    def check_writable(self) -> None:
        """Before the job starts: the bucket is there and takes (and gives back) an object."""
        from botocore.exceptions import BotoCoreError, ClientError

        probe = f"{self.root}.isaacctl-write-check"
        try:
            self.s3.head_bucket(Bucket=self.url.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                raise UserError(f"{FLAG}: bucket {self.url.bucket} does not exist") from None
            raise UserError(f"{FLAG}: bucket {self.url.bucket} cannot be read ({code or exc})") from None
        except BotoCoreError as exc:
            raise UserError(f"{FLAG}: {self.url} cannot be reached ({exc})") from None
        try:
            self.s3.put_object(Bucket=self.url.bucket, Key=probe, Body=b"")
            self.s3.delete_object(Bucket=self.url.bucket, Key=probe)
        except (ClientError, BotoCoreError) as exc:
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
            raise UserError(f"{FLAG}: {self.url} cannot be written ({code or exc})") from None

    def objects(self) -> dict[str, int]:
        """Path under the job's logs/ -> size, of what the bucket holds."""
        from botocore.exceptions import BotoCoreError, ClientError

        found: dict[str, int] = {}
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.url.bucket, Prefix=self.root)
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(self.root) :]] = int(item["Size"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "listing the checkpoints") from None
        return found

    def upload_new(self, folder: Path, files: list[str]) -> int:
        """Every file of `files` (relative to folder) the bucket lacks or holds at another size."""
        from botocore.exceptions import BotoCoreError, ClientError

        have = self.objects()
        todo = [f for f in files if have.get(f) != (folder / f).stat().st_size]
        todo.sort(key=lambda f: f.endswith(CHECKPOINT_SUFFIXES))
        for relative in todo:
            try:
                self.s3.upload_file(str(folder / relative), self.url.bucket, self.root + relative)
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, f"uploading {relative}") from None
        return len(todo)

    def newest(self, library: str) -> str | None:
        return newest_checkpoint(library, sorted(self.objects()))

    def download_run(self, checkpoint: str, folder: Path) -> None:
        """The run folder of `checkpoint` (its checkpoints and configs) into folder, the job's
        home logs/: from there the home copy's restore puts it back on the host."""
        from botocore.exceptions import BotoCoreError, ClientError

        run = "/".join(checkpoint.split("/")[:3]) + "/"
        for relative in self.objects():
            if not relative.startswith(run):
                continue
            target = folder / relative
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.download")  # hidden: not a checkpoint yet
            try:
                self.s3.download_file(self.url.bucket, self.root + relative, str(partial))
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, f"downloading {relative}") from None
            partial.replace(target)
