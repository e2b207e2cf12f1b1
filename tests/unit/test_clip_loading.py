"""load_clip: fail fast and clearly without weights, random only by opt-in, towers, bf16 agreement."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from imgsearch.clip import load_clip
from imgsearch.clip.loader import _create
from imgsearch.clip.runtime import pick_device
from imgsearch.clip.weights import WeightsSource
from imgsearch.common.errors import ConfigurationError
from imgsearch.common.settings import ClipSettings
from tests.support.tiny_clip import MODEL_CONFIG, TinyClip, render_shape


@pytest.fixture
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path / "hf"


@pytest.fixture
def untrained_config(tmp_path: Path) -> Path:
    path = tmp_path / "imgsearch-untrained-clip.json"
    path.write_text(json.dumps(MODEL_CONFIG), encoding="utf-8")
    return path


def test_no_weights_offline_names_the_setting(empty_hf_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError, match="IMGSEARCH_CLIP__PRETRAINED") as caught:
        load_clip(ClipSettings(), frozenset({"text"}))
    assert "HF_HUB_OFFLINE" in caught.value.message
    assert "random" in caught.value.message


def test_unreachable_hub_fails_with_the_setting(
    empty_hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on: connection refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ConfigurationError, match="IMGSEARCH_CLIP__PRETRAINED"):
        load_clip(ClipSettings(download_timeout_s=1.0), frozenset({"image"}))


@pytest.mark.parametrize(
    ("pretrained", "message"),
    [("/nowhere/weights.safetensors", "does not exist"), ("no_such_tag", "no pretrained tag"),
     ("local-dir:/nowhere", "open_clip_config.json")],
)
def test_bad_pretrained_values(pretrained: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_clip(ClipSettings(pretrained=pretrained), frozenset({"image"}))


def test_config_file_must_be_named_for_the_model(untrained_config: Path) -> None:
    settings = ClipSettings(model="other-name", model_config_file=untrained_config, pretrained="random")
    with pytest.raises(ConfigurationError, match="IMGSEARCH_CLIP__MODEL"):
        load_clip(settings)


def test_random_weights_are_opt_in_and_flagged(
    untrained_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ClipSettings(
        model=untrained_config.stem, model_config_file=untrained_config, pretrained="random"
    )
    with caplog.at_level(logging.WARNING):
        clip = load_clip(settings, frozenset({"image"}))
    assert clip.info.random_weights
    assert any("RANDOM" in record.getMessage() for record in caplog.records)
    assert clip.collection_spec().dim == 64
    with pytest.raises(RuntimeError, match="text tower"):
        clip.encode_texts(["a red circle"])


def test_text_only_model_drops_the_visual_tower(tiny_clip: TinyClip) -> None:
    clip = load_clip(_settings(tiny_clip), frozenset({"text"}))
    assert isinstance(clip._model.visual, torch.nn.Identity)  # freed, not just unused
    vectors = clip.encode_texts(["a red circle", "a blue square"])
    assert vectors.shape == (2, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with pytest.raises(RuntimeError, match="image tower"):
        clip.encode_images(torch.zeros(1, 3, 32, 32))


@pytest.mark.parametrize("precision", ["bf16"])
def test_fast_precision_agrees_with_fp32(tiny_clip: TinyClip, precision: str) -> None:
    """The dtype used for speed on CPU must not change what the vectors say (cosine >= 0.999)."""
    reference = load_clip(_settings(tiny_clip, precision="fp32"))
    fast = load_clip(_settings(tiny_clip, precision=precision))
    assert fast.info.precision == precision
    pixels = torch.stack([reference.preprocess(render_shape(c, s, seed=3)) for c, s in tiny_clip.classes])
    texts = [f"a photo of a {c} {s}" for c, s in tiny_clip.classes]
    for ours, theirs in ((fast.encode_images(pixels), reference.encode_images(pixels)),
                         (fast.encode_texts(texts), reference.encode_texts(texts))):
        assert float(np.min(np.sum(ours * theirs, axis=1))) >= 0.999


def test_tiny_model_learned_colors(tiny_clip: TinyClip) -> None:
    clip = load_clip(_settings(tiny_clip))
    assert not clip.info.random_weights
    colors = ["red", "green", "blue", "yellow"]
    pixels = torch.stack([clip.preprocess(render_shape(c, "circle", seed=11)) for c in colors])
    similarity = clip.encode_images(pixels) @ clip.encode_texts([f"a {c} circle" for c in colors]).T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2, 3]


def _settings(tiny: TinyClip, precision: str = "auto") -> ClipSettings:
    return ClipSettings(model=tiny.model_name, model_config_file=tiny.config_file,
                        pretrained=str(tiny.weights_file), precision=precision)


def test_local_dir_without_weights_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": MODEL_CONFIG}), encoding="utf-8")
    (folder / "weights.pt").write_bytes(b"x")  # open_clip's local-dir loader ignores *.pt
    with pytest.raises(ConfigurationError, match="IMGSEARCH_CLIP__PRETRAINED") as caught:
        load_clip(ClipSettings(pretrained=f"local-dir:{folder}"), frozenset({"image"}))
    assert "no weights file" in caught.value.message and ".pt" in caught.value.message


def test_open_clip_must_load_the_weights_it_was_given(tmp_path: Path) -> None:
    """require_pretrained: open_clip raises instead of silently building an untrained model."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": MODEL_CONFIG}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="IMGSEARCH_CLIP__PRETRAINED"):
        _create(f"local-dir:{folder}", WeightsSource("local-dir", str(folder)))


@pytest.mark.parametrize("setting", ["cuda:99", "cuda:x", "cuda:-1"])
def test_a_missing_cuda_device_names_the_setting(setting: str) -> None:
    with pytest.raises(ConfigurationError, match="IMGSEARCH_CLIP__DEVICE"):
        pick_device(setting)


def test_cuda_n_without_cuda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigurationError, match="no CUDA device"):
        pick_device("cuda:0")


def test_cuda_n_within_range_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("cuda:1") == "cuda:1"
    with pytest.raises(ConfigurationError, match=r"cuda:0\.\.cuda:1"):
        pick_device("cuda:2")
