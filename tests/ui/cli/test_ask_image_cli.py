"""``bllossom-rag ask --image``: the command line with the user's own image."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from tests.support.cli import Cli

IMAGE_TOKEN = "<image>"


@pytest.mark.slow
def test_ask_with_image_json_lists_the_images_in_the_prompt(cli: Cli, tmp_path: Path):
    photo = tmp_path / "badge.png"
    Image.new("RGB", (800, 600), "purple").save(photo)
    policy = tmp_path / "docs" / "badge.md"
    policy.parent.mkdir()
    policy.write_text("사원증은 출입과 연차 신청 본인 확인에 쓴다.", encoding="utf-8")
    assert cli("ingest", str(policy.parent)).exit_code == 0

    answer = cli.json("ask", "이 사원증으로 연차를 신청할 수 있나요?", "--image", str(photo))
    user = answer["images"][0]
    assert user == {
        "number": None,
        "kind": "user",
        "source": str(photo.resolve()),
        "image_sha256": hashlib.sha256(photo.read_bytes()).hexdigest(),
        "image_path": str(photo.resolve()),
    }
    assert all(image["kind"] == "retrieved" for image in answer["images"][1:])
    assert answer["prompt"].count(IMAGE_TOKEN) == len(answer["images"])
    assert "image 1 is the user's own image" in answer["prompt"]
    assert answer["prompt_tokens"] > 2000  # an 800x600 image alone is over 2,000 tokens


def test_ask_refuses_a_file_that_is_not_an_image(cli: Cli, tmp_path: Path):
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    result = cli("ask", "질문", "--image", str(fake))
    assert result.exit_code == 1
    assert f"{fake}: not a readable image" in result.stderr
    assert "PNG, JPEG, WEBP, GIF, BMP, TIFF" in result.stderr  # what would be accepted
    assert result.stderr.strip().count("\n") == 0
