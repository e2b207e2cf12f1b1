"""Kubernetes manifests (deploy/k8s) and the image recipe (deploy/docker) hold together with the code.

The pods are checked against what the services really read: every module a container runs exists in its
image's service, every IMGSEARCH_* name is a settings field (pydantic-settings ignores unknown ones
silently), and the settings a pod ends up with (ConfigMap + the example Secret + env, loaded by the real
``load_settings``) make the gateway reachable and point at mounted paths. Overlays are rendered with
``kubectl kustomize`` (or ``kustomize build``) when one is installed, otherwise checked from their patches.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from imgsearch.common.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
SECRET_EXAMPLE = BASE / "secret.example.yaml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
YAML_FILES = sorted(K8S.rglob("*.yaml"))
UNITS = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30,
         "Ti": 2.0**40}
# What each service touches (README, "Running the services separately").
READS_LIBRARY = {"imgsearch.ingest", "imgsearch.embed", "imgsearch.faces", "imgsearch.gateway"}
WRITES = {"imgsearch.ingest": ["thumbnails_dir"], "imgsearch.faces": ["face_crops_dir"]}
READS = {"imgsearch.gateway": ["thumbnails_dir", "face_crops_dir"]}
CONSUMERS = {"imgsearch.ingest", "imgsearch.embed", "imgsearch.faces", "imgsearch.faces.clustering"}

Manifest = dict[str, Any]
Objects = tuple[Manifest, ...]
PodSettings = Callable[[Objects, Manifest], Settings]


def load(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def renderer() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return ["kustomize", "build"] if shutil.which("kustomize") else None


@functools.cache
def variant(name: str) -> Objects:
    """The base straight from its files, or an overlay rendered by kustomize (skipped without one)."""
    if name == "base":
        resources = load(BASE / "kustomization.yaml")[0]["resources"]
        return tuple(doc for resource in resources for doc in load(BASE / resource))
    command = renderer()
    if command is None:
        pytest.skip("neither kubectl nor kustomize installed: overlays are checked from their patches only")
    out = subprocess.run([*command, str(K8S / "overlays" / name)], capture_output=True, text=True, check=True)
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc is not None)


@pytest.fixture(params=["base", *OVERLAYS])
def objects(request: pytest.FixtureRequest) -> Objects:
    return variant(request.param)


def deployments(objects: Objects) -> list[Manifest]:
    return [o for o in objects if o["kind"] == "Deployment"]


def containers(objects: Objects) -> Iterator[tuple[Manifest, Manifest]]:
    for deployment in deployments(objects):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield deployment, container


def dockerfile() -> str:
    return DOCKERFILE.read_text()


def argv(container: Manifest) -> list[str]:
    """command + args as the kubelet runs them (no command: the image's ENTRYPOINT)."""
    match = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile(), re.MULTILINE)
    assert match, "the Dockerfile has no exec-form ENTRYPOINT"
    return [*container.get("command", json.loads(match.group(1))), *container.get("args", [])]


def module(container: Manifest) -> str:
    run = argv(container)
    assert run[:2] == ["python", "-m"] and len(run) >= 3, f"{container['name']} runs {run}"
    return run[2]


def find(objects: Objects, name: str) -> tuple[Manifest, Manifest]:
    found = [(d, c) for d, c in containers(objects) if module(c) == name]
    assert len(found) == 1, f"{len(found)} containers run {name}"
    return found[0]


def quantity(value: str | int | float) -> float:
    text = str(value)
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text.removesuffix(unit)) * UNITS[unit]
    return float(text)


def settings_env_names() -> set[str]:
    prefix, nest = Settings.model_config["env_prefix"], Settings.model_config["env_nested_delimiter"]

    def walk(model: type[BaseModel], start: str) -> Iterator[str]:
        for field, info in model.model_fields.items():
            name = f"{start}{field}".upper()
            yield name
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                yield from walk(info.annotation, f"{name}{nest}")

    return set(walk(Settings, str(prefix)))


def container_env(objects: Objects, container: Manifest) -> dict[str, str]:
    """The IMGSEARCH_* environment of a container: image ENV, ConfigMap, the example Secret, env."""
    env = dict(re.findall(r"(IMGSEARCH_\w+)=(\S+)", dockerfile()))
    secret = load(SECRET_EXAMPLE)[0]
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            (config,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name]
            env.update(config["data"])
        if "secretRef" in source:
            assert source["secretRef"]["name"] == secret["metadata"]["name"], "no example for this Secret"
            env.update(secret["stringData"])
    for item in container.get("env", []):
        field = item.get("valueFrom", {}).get("resourceFieldRef")
        if field is not None:  # the kubelet rounds the limit up to whole divisors
            kind, resource = field["resource"].split(".")
            amount = quantity(container["resources"][kind][resource]) / quantity(field.get("divisor", 1))
            env[item["name"]] = str(math.ceil(amount))
        else:
            env[item["name"]] = str(item["value"])
    return {k: v for k, v in env.items() if k.startswith("IMGSEARCH_")}


@pytest.fixture
def pod_settings(monkeypatch: pytest.MonkeyPatch) -> PodSettings:
    """The Settings a container starts with (load_settings over its environment only)."""
    def settings(objects: Objects, container: Manifest) -> Settings:
        for key in [k for k in os.environ if k.upper().startswith("IMGSEARCH_")]:
            monkeypatch.delenv(key)
        for key, value in container_env(objects, container).items():
            monkeypatch.setenv(key, value)
        return load_settings()

    return settings


def mount_of(deployment: Manifest, container: Manifest, path: Path | str) -> Manifest | None:
    """The volume mount a path lies in (deepest first), with `writable` worked out."""
    mounts = sorted(container.get("volumeMounts", []), key=lambda m: len(m["mountPath"]), reverse=True)
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"].get("volumes", [])}
    for mount in mounts:
        if PurePosixPath(path).is_relative_to(mount["mountPath"]):
            claim = volumes[mount["name"]].get("persistentVolumeClaim", {})
            return {**mount, "writable": not mount.get("readOnly") and not claim.get("readOnly")}
    return None


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(K8S)))
def test_every_yaml_parses_into_kubernetes_objects(path: Path) -> None:
    docs = load(path)
    assert docs and all("apiVersion" in doc and "kind" in doc for doc in docs)


@pytest.mark.parametrize("path", sorted(K8S.rglob("kustomization.yaml")), ids=lambda p: p.parent.name)
def test_kustomization_references_exist(path: Path) -> None:
    spec = load(path)[0]
    entries = [*spec.get("resources", []), *(p["path"] for p in spec.get("patches", []) if "path" in p)]
    for entry in entries:
        target = path.parent / entry
        assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{path}: {entry} missing"


def test_every_base_file_is_listed_except_the_secret_example() -> None:
    listed = set(load(BASE / "kustomization.yaml")[0]["resources"])
    present = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml", SECRET_EXAMPLE.name}
    assert listed == present
    assert "EXAMPLE" in SECRET_EXAMPLE.read_text().splitlines()[0]


def test_env_names_are_settings_fields() -> None:
    valid = settings_env_names()
    used = set(re.findall(r"IMGSEARCH_\w+", dockerfile()))
    for path in YAML_FILES:
        used |= set(re.findall(r"\bIMGSEARCH_[A-Z0-9_]+\b", path.read_text()))
    assert used, "no IMGSEARCH_* variables found"
    assert used <= valid, f"not settings fields (silently ignored): {sorted(used - valid)}"


def test_image_has_every_source_root_and_service_requirements() -> None:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^SRC := (.+)$", makefile, re.MULTILINE)
    assert match
    text = dockerfile()
    path = re.search(r"PYTHONPATH=(\S+)", text)
    assert path
    for root in match.group(1).split():
        assert f"COPY {root}/ /app/{root}/" in text and f"/app/{root}" in path.group(1).split(":")
    for requirements in ROOT.glob("services/*/requirements.txt"):
        service = requirements.parent.name
        assert f"COPY services/{service}/requirements.txt services/{service}/" in text


def test_containers_run_an_existing_module_of_their_image(objects: Objects) -> None:
    for _, container in containers(objects):
        name = container["image"].split("@")[0].rsplit("/", 1)[-1].split(":")[0]
        assert name.startswith("imgsearch-"), container["image"]
        service = ROOT / "services" / name.removeprefix("imgsearch-")
        assert (service / "requirements.txt").is_file(), f"no dependency set for image {name}"
        main = service.joinpath(*module(container).split("."), "__main__.py")
        assert main.is_file(), f"{container['name']}: {main.relative_to(ROOT)} does not exist"


def test_containers_are_locked_down(objects: Objects) -> None:
    uid = re.search(r"^USER (\d+)", dockerfile(), re.MULTILINE)
    assert uid, "USER must be numeric so that the kubelet can enforce runAsNonRoot"
    for deployment, container in containers(objects):
        pod = deployment["spec"]["template"]["spec"]
        context, pod_context = container.get("securityContext", {}), pod.get("securityContext", {})
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True
        assert pod_context.get("runAsUser", int(uid.group(1))) == int(uid.group(1))
        assert context.get("readOnlyRootFilesystem") is True
        assert context.get("allowPrivilegeEscalation") is False
        assert "ALL" in context.get("capabilities", {}).get("drop", [])
        tmp = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}.get("/tmp")
        assert any(v["name"] == tmp and "emptyDir" in v for v in pod.get("volumes", [])), container["name"]


def test_containers_have_requests_within_limits(objects: Objects) -> None:
    for _, container in containers(objects):
        resources = container.get("resources", {})
        for resource in ("cpu", "memory"):
            request, limit = resources["requests"][resource], resources["limits"][resource]
            assert quantity(request) <= quantity(limit), f"{container['name']} {resource}"


def test_pods_get_valid_distributed_settings(objects: Objects, pod_settings: PodSettings) -> None:
    for _, container in containers(objects):
        settings = pod_settings(objects, container)
        assert settings.nats.url and settings.postgres.url and settings.qdrant.url, container["name"]


def test_mounts_match_what_each_service_reads_and_writes(
    objects: Objects, pod_settings: PodSettings
) -> None:
    for deployment, container in containers(objects):
        name, settings = module(container), pod_settings(objects, container)
        for root in settings.library_roots if name in READS_LIBRARY else []:
            mount = mount_of(deployment, container, root)
            assert mount and not mount["writable"], f"{name}: library {root} not mounted read-only"
        for attribute in WRITES.get(name, []):
            mount = mount_of(deployment, container, getattr(settings, attribute))
            assert mount and mount["writable"], f"{name}: {attribute} not writable"
        for attribute in READS.get(name, []):
            assert mount_of(deployment, container, getattr(settings, attribute)), f"{name}: {attribute}"
        if name in ("imgsearch.embed", "imgsearch.search") and settings.clip.pretrained.startswith("/"):
            assert mount_of(deployment, container, settings.clip.pretrained), f"{name}: CLIP weights"
        if name == "imgsearch.faces":
            assert mount_of(deployment, container, settings.face_models_dir), "faces: models dir"


def test_claims_shared_by_pods_allow_it(objects: Objects) -> None:
    pods: dict[str, int] = {}
    writers: set[str] = set()
    for deployment, container in containers(objects):
        for mount in container.get("volumeMounts", []):
            volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"]
                          if v["name"] == mount["name"])
            claim = volume.get("persistentVolumeClaim", {})
            if claim:
                name = claim["claimName"]
                pods[name] = pods.get(name, 0) + deployment["spec"].get("replicas", 1)
                if not mount.get("readOnly") and not claim.get("readOnly"):
                    writers.add(name)
    claims = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PersistentVolumeClaim"}
    for claim, count in pods.items():
        assert claim in claims, f"no PersistentVolumeClaim {claim}"
        modes = set(claims[claim]["spec"]["accessModes"])
        if count > 1:
            allowed = {"ReadWriteMany"} if claim in writers else {"ReadWriteMany", "ReadOnlyMany"}
            assert modes & allowed, f"{claim} is mounted by {count} pods but is {modes}"


def test_consumers_have_time_to_drain(objects: Objects, pod_settings: PodSettings) -> None:
    for deployment, container in containers(objects):
        grace = deployment["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        if module(container) in CONSUMERS:
            ack_wait = pod_settings(objects, container).consumer.ack_wait_s
            assert grace >= ack_wait, f"{container['name']}: grace {grace} s < ack_wait {ack_wait} s"


def test_gateway_listens_on_the_pod_and_is_probed(objects: Objects, pod_settings: PodSettings) -> None:
    deployment, gateway = find(objects, "imgsearch.gateway")
    settings = pod_settings(objects, gateway)
    assert settings.http.host in ("0.0.0.0", "::") and settings.grpc.host in ("0.0.0.0", "::")
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    assert ports["http"] == settings.http.port and ports["grpc"] == settings.grpc.port
    probes = {kind: gateway.get(kind, {}) for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"] and probes["livenessProbe"]
    http = {p["httpGet"]["path"]: ports.get(p["httpGet"]["port"], p["httpGet"]["port"])
            for p in probes.values() if "httpGet" in p}
    assert http.get("/readyz") == settings.http.port and http.get("/healthz") == settings.http.port
    assert any(p.get("grpc", {}).get("port") == settings.grpc.port for p in probes.values())
    # Readiness depends on NATS, PostgreSQL and search: an outage must not restart the gateway.
    assert probes["livenessProbe"].get("httpGet", {}).get("path") == "/healthz"
    selector = deployment["spec"]["selector"]["matchLabels"]
    (service,) = [o for o in objects if o["kind"] == "Service" and o["spec"]["selector"] == selector]
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {"http", "grpc"}


def test_clustering_is_a_singleton(objects: Objects) -> None:
    deployment, _ = find(objects, "imgsearch.faces.clustering")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_overlay_patches_target_base_containers() -> None:
    base = {d["metadata"]["name"]: d for d in deployments(variant("base"))}
    for name in OVERLAYS:
        spec = load(K8S / "overlays" / name / "kustomization.yaml")[0]
        for replica in spec.get("replicas", []):
            assert replica["name"] in base
        for patch in spec.get("patches", []):
            for doc in load(K8S / "overlays" / name / patch["path"]):
                target = base[doc["metadata"]["name"]]["spec"]["template"]["spec"]["containers"]
                for container in doc["spec"]["template"]["spec"].get("containers", []):
                    assert container["name"] in {c["name"] for c in target}


def gpu_containers(objects: Objects) -> dict[str, Manifest]:
    return {module(c): c for _, c in containers(objects)
            if str(c["resources"]["limits"].get("nvidia.com/gpu", 0)) == "1"}


def test_gpu_overlay_patches_embed_and_faces() -> None:
    patched = {}
    for patch in load(K8S / "overlays" / "gpu" / "kustomization.yaml")[0]["patches"]:
        for doc in load(K8S / "overlays" / "gpu" / patch["path"]):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "1"
                assert container["image"].split(":")[-1].endswith("cuda")
                patched[doc["metadata"]["name"]] = container["name"]
    assert patched == {"imgsearch-embed": "embed", "imgsearch-faces": "faces"}


def test_gpu_overlay_renders_gpus_for_embed_and_faces_only() -> None:
    objects = variant("gpu")
    assert set(gpu_containers(objects)) == {"imgsearch.embed", "imgsearch.faces"}
    assert all(c["image"].endswith("cuda") for c in gpu_containers(objects).values())
    assert not gpu_containers(variant("base"))


def test_small_overlay_runs_one_replica_of_everything() -> None:
    spec = load(K8S / "overlays" / "small" / "kustomization.yaml")[0]
    base = {d["metadata"]["name"] for d in deployments(variant("base"))}
    assert {r["name"]: r["count"] for r in spec["replicas"]} == dict.fromkeys(base, 1)
    assert all(d["spec"]["replicas"] == 1 for d in deployments(variant("small")))
