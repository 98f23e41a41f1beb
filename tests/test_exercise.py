"""The seed exercise runs exactly as written, as a script and as `threaddesk demo`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

import threaddesk.demo as demo
from threaddesk import OfflineChatModel, ThreadDesk

ROOT = Path(__file__).resolve().parents[1]
EXERCISE_DIR = ROOT / "exercises" / "4-Thursday" / "starter_code"
EXPECTED = (Path(__file__).parent / "data" / "exercise_expected.txt").read_text()
SEED = ROOT.parent / "shared" / "seed" / "pair_exercise_02.md"


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_expected_block_is_the_seeds() -> None:
    if not SEED.exists():
        pytest.skip(f"seed exercise not found at {SEED} (only present beside the repo in CI)")
    seed = SEED.read_text()
    block = seed[seed.index("Expected output:\n```\n") :]
    assert EXPECTED in block  # byte for byte, trailing spaces included
    assert "[Shows switching between threads with context preserved]" in block


def test_exercise_script_prints_the_seed_output() -> None:
    run = subprocess.run(
        [sys.executable, "pair_exercise_02_starter.py"],
        cwd=EXERCISE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = _lines(run.stdout)
    expected = _lines(EXPECTED)
    assert out[: len(expected)] == expected
    switching = "\n".join(out[len(expected) :])
    assert "[FAIL]" not in run.stdout
    for customer in ("carol_session", "dave_session", "erin_session"):
        assert f"<- back to {customer}" in switching
        assert f"[OK] {customer} recalled" in switching
    assert 'You told me: "My order #1042 arrived damaged."' in switching
    assert "[OK] Unknown thread rejected: thread 'zoe_session' not found" in switching
    assert out[-1] == "[OK] Thread switching preserves context!"


def test_demo_main_output_is_the_same_in_process() -> None:
    printed: list[str] = []
    assert demo.main(out=printed.append) == 0
    assert _lines("\n".join(printed))[: len(_lines(EXPECTED))] == _lines(EXPECTED)


class _ForgetfulModel(OfflineChatModel):
    """Answers every question as if it were always talking to Bob: a broken memory."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        result = super()._generate(messages, stop, run_manager, **kwargs)
        text = result.generations[0].message.text.replace("Alice", "Bob")
        result.generations[0].message = AIMessage(content=text)
        return result


def test_demo_fails_loudly_when_isolation_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        demo,
        "create_thread_manager",
        lambda database_url="memory", settings=None: ThreadDesk.open(
            database_url=database_url, model=_ForgetfulModel()
        ),
    )
    printed: list[str] = []
    assert demo.main(out=printed.append) == 1
    assert "[FAIL] alice_session answered 'Your name is Bob!'; expected Alice and no trace of Bob" in printed
