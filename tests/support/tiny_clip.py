"""A tiny OpenCLIP-architecture model trained on synthetic captioned shapes, so that tests check retrieval
with learned embeddings. Trained once (about a minute on 2 cores), cached in a git-ignored folder, and
loaded through the production path: ``load_clip(ClipSettings(model=..., model_config_file=...,
pretrained=<weights file>))``."""

from __future__ import annotations

import fcntl
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from imgsearch.common.settings import ClipSettings

RECIPE = "v1"  # bump when anything below changes: the cache is keyed by it
MODEL_NAME = "imgsearch-tiny-clip"
COLORS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 60, 220), "yellow": (235, 210, 20)}
SHAPES = ("circle", "square", "triangle")
TEMPLATES = ("a photo of a {} {}", "a {} {}", "a picture of a {} {}", "{} {}", "an image of a {} {}")
MODEL_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
STEPS = 1000
BATCH = 64
RENDERS_PER_CLASS = 48


@dataclass(frozen=True)
class TinyClip:
    model_name: str
    config_file: Path
    weights_file: Path
    classes: tuple[tuple[str, str], ...]  # (color, shape)

    def settings(self, batch_size: int) -> ClipSettings:
        """For the production loader and the embed service."""
        return ClipSettings(model=self.model_name, model_config_file=self.config_file,
                            pretrained=str(self.weights_file), batch_size=batch_size)


def classes() -> tuple[tuple[str, str], ...]:
    return tuple((color, shape) for color in COLORS for shape in SHAPES)


def render_shape(color: str, shape: str, size: int = 128, seed: int = 0) -> Image.Image:
    """A colored shape at a jittered position and size on a noisy, greyish gradient background."""
    rng = random.Random(f"{color}/{shape}/{size}/{seed}")
    base = rng.randint(90, 190)
    tint = [max(0, min(255, base + rng.randint(-25, 25))) for _ in range(3)]
    image = Image.linear_gradient("L").resize((size, size)).rotate(rng.choice((0, 90, 180, 270)))
    background = Image.merge("RGB", [image.point(lambda v, t=t: t - 40 + v * 80 // 255) for t in tint])
    noise = Image.effect_noise((size, size), 18).convert("RGB")
    canvas = Image.blend(background, noise, 0.15).filter(ImageFilter.GaussianBlur(0.6))
    extent = rng.uniform(0.45, 0.75) * size
    margin = 0.05 * size
    x0, y0 = (rng.uniform(margin, size - extent - margin) for _ in range(2))
    box = (x0, y0, x0 + extent, y0 + extent)
    fill = tuple(max(0, min(255, c + rng.randint(-20, 20))) for c in COLORS[color])
    draw = ImageDraw.Draw(canvas)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([(x0 + extent / 2, y0), (x0, y0 + extent), (x0 + extent, y0 + extent)], fill=fill)
    return canvas


def ensure_tiny_clip(cache_dir: Path) -> TinyClip:
    """Train once per recipe and cache; parallel pytest processes wait on a file lock instead of training."""
    folder = cache_dir / RECIPE
    folder.mkdir(parents=True, exist_ok=True)
    tiny = TinyClip(MODEL_NAME, folder / f"{MODEL_NAME}.json", folder / "weights.pt", classes())
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tiny.weights_file.is_file():
            tiny.config_file.write_text(json.dumps(MODEL_CONFIG, indent=2), encoding="utf-8")
            _train(tiny)
    return tiny


def _train(tiny: TinyClip) -> None:
    import open_clip
    import torch

    torch.manual_seed(0)
    rng = random.Random(0)
    open_clip.add_model_config(tiny.config_file)
    model, _, preprocess = open_clip.create_model_and_transforms(tiny.model_name)
    tokenizer = open_clip.get_tokenizer(tiny.model_name)
    labels = list(tiny.classes)
    pixels = torch.stack([
        preprocess(render_shape(c, s, seed=1000 + i)) for c, s in labels for i in range(RENDERS_PER_CLASS)
    ])
    targets = torch.tensor([k for k in range(len(labels)) for _ in range(RENDERS_PER_CLASS)])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    model.train()
    for _ in range(STEPS):
        index = torch.tensor(rng.sample(range(len(targets)), BATCH))
        batch_labels = targets[index]
        captions = [rng.choice(TEMPLATES).format(*labels[int(k)]) for k in batch_labels]
        image_features = model.encode_image(pixels[index], normalize=True)
        text_features = model.encode_text(tokenizer(captions), normalize=True)
        logits = model.logit_scale.exp() * image_features @ text_features.T
        same = (batch_labels[:, None] == batch_labels[None, :]).float()  # soft targets: repeated classes
        soft = same / same.sum(dim=1, keepdim=True)
        loss = (torch.sum(-soft * logits.log_softmax(dim=1), dim=1).mean()
                + torch.sum(-soft * logits.T.log_softmax(dim=1), dim=1).mean()) / 2
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    tmp = tiny.weights_file.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, tiny.weights_file)
