"""Stored images: written whole, read only as our own PNGs, swept with their crash leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, UnidentifiedImageError

from rag.runtime.files import temp_name
from rag.store import ImageFiles


def test_a_stored_image_reads_back_and_leaves_no_temp_file(tmp_path: Path):
    images = ImageFiles(tmp_path / "images")
    sha = images.put(Image.new("RGB", (300, 20), (10, 200, 30)))
    assert images.open(sha).getpixel((299, 19)) == (10, 200, 30)
    with Image.open(images.thumbnail_path(sha)) as thumbnail:
        assert thumbnail.size == (256, 17)
    assert [p.name for p in images.root.rglob(".*") if p.name != ".lock"] == []


def test_only_the_png_decoder_reads_a_stored_file(tmp_path: Path):
    images = ImageFiles(tmp_path / "images")
    sha = images.put(Image.new("RGB", (8, 8), "red"))
    # Whatever lies under a hash is read as PNG or not at all (no other Pillow plugin runs).
    Image.new("RGB", (8, 8), "blue").save(images.path(sha), format="GIF")
    with pytest.raises(UnidentifiedImageError):
        images.open(sha)


def test_the_sweep_deletes_unreferenced_images_and_crash_leftovers(tmp_path: Path):
    images = ImageFiles(tmp_path / "images")
    kept = images.put(Image.new("RGB", (8, 8), "red"))
    dropped = images.put(Image.new("RGB", (8, 8), "blue"))
    # What a writer killed between creating its temp file and the rename leaves behind.
    leftovers = [temp_name(images.path(kept)), temp_name(images.thumbnail_path(dropped))]
    for leftover in leftovers:
        leftover.write_bytes(b"half an image")
    assert images.sweep(lambda: {kept}) == 1
    assert images.path(kept).is_file() and images.thumbnail_path(kept).is_file()
    assert not images.path(dropped).exists() and not images.thumbnail_path(dropped).exists()
    assert not any(leftover.exists() for leftover in leftovers)
