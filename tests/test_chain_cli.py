"""``bllossom-rag ask --image``: the real console script with the user's own image."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

IMAGE_TOKEN = "<image>"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bllossom-rag", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_ask_with_image_json_lists_the_images_in_the_prompt(
    cli_env: dict[str, str], tmp_path: Path
):
    photo = tmp_path / "badge.png"
    Image.new("RGB", (800, 600), "purple").save(photo)
    policy = tmp_path / "docs" / "badge.md"
    policy.parent.mkdir()
    policy.write_text("사원증은 출입과 연차 신청 본인 확인에 쓴다.", encoding="utf-8")
    assert run(cli_env, "ingest", str(policy.parent)).returncode == 0

    asked = run(
        cli_env, "ask", "이 사원증으로 연차를 신청할 수 있나요?", "--image", str(photo), "--json"
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
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


def test_ask_refuses_a_file_that_is_not_an_image(cli_env: dict[str, str], tmp_path: Path):
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    result = run(cli_env, "ask", "질문", "--image", str(fake))
    assert result.returncode == 1
    assert f"{fake}: not a readable image" in result.stderr
    assert "PNG, JPEG, WEBP, GIF, BMP, TIFF" in result.stderr  # what would be accepted
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0
