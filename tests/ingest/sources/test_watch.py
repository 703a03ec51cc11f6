"""``bllossom-rag sync --watch`` as a real process: a new file in a watched folder is searchable."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.cli import Cli

CONSOLE_SCRIPT = Path(sys.executable).with_name("bllossom-rag")


def test_a_new_file_in_a_watched_folder_becomes_searchable(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
):
    share = tmp_path / "share"
    share.mkdir()
    (share / "공지.md").write_text("# 공지\n\n식당은 아침 8시에 엽니다.\n", encoding="utf-8")
    source = {"name": "share", "type": "folder", "path": str(share), "schedule": "1d"}
    env = {
        **cli_env,
        "BLLOSSOM_RAG_SOURCES": json.dumps([source]),
        "BLLOSSOM_RAG_SYNC__DEBOUNCE_S": "0.5",
        "BLLOSSOM_RAG_DATA_DIR": str(cli.data_dir),
    }
    watcher = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "sync", "--watch", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reports: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            reports.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    try:
        first = reports.get(timeout=300)  # the first sync, once the models have loaded
        assert [Path(p).name for p in first["ingested"]] == ["공지.md"]
        (share / "주차.md").write_text(
            "# 주차 안내\n\n방문객 주차는 지하 2층을 이용하며 최대 3시간 무료입니다.\n",
            encoding="utf-8",
        )
        second = reports.get(timeout=120)
        assert [Path(p).name for p in second["ingested"]] == ["주차.md"], second
        assert second["unchanged"] == first["ingested"]
        answer = cli.json(
            "ask",
            "방문객 주차는 몇 시간 무료인가요?",
            BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER="{1} [1]",
        )
        assert Path(answer["sources"][0]["source"]).name == "주차.md"
        assert "3시간" in answer["sources"][0]["text"]
        # An editor's swap file is no change: the next sync is the next real file's.
        (share / ".주차.md.swp").write_bytes(b"swap")
        time.sleep(2.0)  # four quiet periods in which a sync would start if it counted
        (share / "회의.md").write_text("# 회의실\n\n회의실은 포털에서 예약합니다.\n")
        third = reports.get(timeout=120)
        assert [Path(p).name for p in third["ingested"]] == ["회의.md"], third
    finally:
        watcher.send_signal(signal.SIGINT)
        _, errors = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, errors
    assert "Stopped watching." in errors and "Traceback" not in errors
