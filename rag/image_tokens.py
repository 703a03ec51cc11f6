"""How many prompt tokens an image costs in LLaVA-NeXT's anyres scheme, without running it.

The prompt budget must know an image's cost before deciding to include it, and running the
image processor (resize, crop, normalize every tile) just to count is wasteful. The count
depends only on the image size and the processor's geometry: a base 336x336 view
(24x24 patches + 1 extra token, minus the CLS token under the 'default' feature strategy), plus
the best-fitting grid of 336x336 tiles with the padding rows or columns removed and one newline
token per row. A 1024x1024 image costs 2,928 tokens; 336x336 costs 1,176.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AnyresGeometry:
    """The image-token geometry of a LLaVA-NeXT processor."""

    grid_pinpoints: tuple[tuple[int, int], ...]  # (height, width) of each allowed grid
    tile: int = 336
    patch_size: int = 14
    additional_tokens: int = 1
    drops_cls_token: bool = True  # vision_feature_select_strategy == "default"

    @classmethod
    def from_processor(cls, processor: Any) -> AnyresGeometry:
        """Read the geometry from a loaded ``LlavaNextProcessor``."""
        image_processor = processor.image_processor
        crop = image_processor.crop_size
        tile = crop["height"] if isinstance(crop, dict) else crop.height
        return cls(
            grid_pinpoints=tuple(tuple(p) for p in image_processor.image_grid_pinpoints),
            tile=int(tile),
            patch_size=int(processor.patch_size),
            additional_tokens=int(getattr(processor, "num_additional_image_tokens", 0)),
            drops_cls_token=processor.vision_feature_select_strategy == "default",
        )

    def tokens(self, width: int, height: int) -> int:
        """Tokens an image of ``width`` x ``height`` pixels occupies in the prompt."""
        best_height, best_width = _best_resolution(height, width, self.grid_pinpoints)
        patches = self.tile // self.patch_size
        rows = patches * (best_height // self.tile)
        columns = patches * (best_width // self.tile)
        # Remove the rows or columns that only hold letterbox padding.
        if width / height > columns / rows:
            kept = int(round(height * (columns / width), 7))
            rows -= 2 * ((rows - kept) // 2)
        else:
            kept = int(round(width * (rows / height), 7))
            columns -= 2 * ((columns - kept) // 2)
        total = rows * columns + rows + patches * patches + self.additional_tokens
        return total - 1 if self.drops_cls_token else total


def _best_resolution(
    height: int, width: int, pinpoints: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """The grid that keeps the most image resolution, then wastes the fewest pixels."""
    best: tuple[int, int] = pinpoints[0]
    best_effective, best_wasted = -1, float("inf")
    for grid_height, grid_width in pinpoints:
        scale = min(grid_width / width, grid_height / height)
        scaled = int(width * scale) * int(height * scale)
        effective = min(scaled, width * height)
        wasted = grid_width * grid_height - effective
        if effective > best_effective or (effective == best_effective and wasted < best_wasted):
            best, best_effective, best_wasted = (grid_height, grid_width), effective, wasted
    return best
