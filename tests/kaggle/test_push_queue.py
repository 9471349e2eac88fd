"""`make push-all` through Kaggle's two-session limit: pushed in the plan's order, waited out, resumable."""

from __future__ import annotations

import json

import pytest

from solution.core.errors import UserError
from solution.kaggle import kernels, push_queue
from tests import fake_kaggle

CONFIG = kernels.KernelsConfig(images_dataset="someone/emotion-faces")
TRAINING = [k for k in kernels.all_kernels(CONFIG) if k.role == kernels.TRAINING]


def _slug(kernel: kernels.Kernel) -> str:
    return f"me/{kernel.slug(CONFIG)}"


@pytest.fixture
def kaggle_sessions(tmp_path, fake_kaggle_client, monkeypatch):
    """The simulated Kaggle with its session limit: each pushed kernel runs for 2 status checks."""
    monkeypatch.setenv("FAKE_KAGGLE_SESSIONS", str(tmp_path / "sessions.json"))
    monkeypatch.setenv("FAKE_KAGGLE_RUN_POLLS", "2")
    kernels.write_kernels(CONFIG, "me", tmp_path / "kernels")
    return tmp_path / "kernels", fake_kaggle_client


def _push_calls(log) -> list[str]:
    """Every push asked of Kaggle, accepted or refused."""
    return [call[-1].rsplit("/", 1)[-1] for call in fake_kaggle.calls(log) if call[:2] == ["kernels", "push"]]


def _started(sessions) -> list[str]:
    """The kernels Kaggle accepted, in order (the simulated server's session file)."""
    return [kernel_id.split("/emotion-")[-1] for kernel_id in json.loads(sessions.read_text())]


def test_every_kernel_is_pushed_once_in_the_plans_order_through_the_session_limit(kaggle_sessions):
    root, log = kaggle_sessions
    waits, lines = [], []
    pushed = push_queue.push_all(TRAINING, root, _slug, push_queue.Waiting(60, 24), log=lines.append, sleep=waits.append)
    assert pushed == [k.name for k in TRAINING] == _started(root.parent / "sessions.json"), "each accepted once, in order"
    assert len(_push_calls(log)) > len(pushed) and waits and set(waits) == {60}, "the third push was refused and waited out"
    assert any("batch sessions are busy" in line and "trying again in 60 s" in line for line in lines)
    queue = json.loads((root / push_queue.QUEUE_FILE).read_text())["kernels"]
    assert sorted(queue) == sorted(pushed) and all(entry["slug"].startswith("me/emotion-train-") for entry in queue.values())


def test_an_interrupted_push_all_pushes_only_what_is_left_when_run_again(kaggle_sessions):
    root, log = kaggle_sessions

    def interrupted(seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        push_queue.push_all(TRAINING, root, _slug, push_queue.Waiting(60, 24), log=lambda line: None, sleep=interrupted)
    first = _started(root.parent / "sessions.json")
    assert len(json.loads((root / push_queue.QUEUE_FILE).read_text())["kernels"]) == 2, "two sessions started before the wait"
    lines = []
    again = push_queue.push_all(TRAINING, root, _slug, push_queue.Waiting(0, 24), log=lines.append, sleep=lambda s: None)
    assert again == [k.name for k in TRAINING[2:]]
    assert sum(line.endswith("skipped") and "already pushed" in line for line in lines) == 2
    assert first == [k.name for k in TRAINING[:2]] and _started(root.parent / "sessions.json") == [k.name for k in TRAINING]


def test_a_changed_kernel_is_pushed_again_and_a_failed_one_is_named_with_its_fix(kaggle_sessions, monkeypatch):
    root, log = kaggle_sessions
    first, second = TRAINING[:2]
    push_queue.push_all([first, second], root, _slug, push_queue.Waiting(0, 24), log=lambda line: None)
    monkeypatch.delenv("FAKE_KAGGLE_SESSIONS")
    monkeypatch.setenv("FAKE_KAGGLE_STATES", json.dumps({_slug(second): "error"}))
    (root / first.name / kernels.SCRIPT_FILE).write_text("# edited\n")
    lines = []
    again = push_queue.push_all([first, second], root, _slug, push_queue.Waiting(0, 24), log=lines.append)
    assert again == [first.name]
    failed = next(line for line in lines if second.name in line)
    assert "error on Kaggle" in failed and f"make push BACKBONE={second.name}" in failed and "RESUME=1" in failed


def test_no_free_session_within_the_wait_is_one_line_and_keeps_the_queue(kaggle_sessions):
    root, _ = kaggle_sessions
    clock = iter(range(0, 10**6, 3600))
    with pytest.raises(UserError, match=r"no free Kaggle session .* within 2 h; .* `make push-all` again later") as refused:
        push_queue.push_all(
            TRAINING, root, _slug, push_queue.Waiting(3600, 2), log=lambda line: None, sleep=lambda s: None, clock=lambda: next(clock)
        )
    assert "\n" not in str(refused.value)
    assert len(json.loads((root / push_queue.QUEUE_FILE).read_text())["kernels"]) == 2


def test_a_kernel_never_pushed_reads_as_absent_not_as_an_error(fake_kaggle_client, monkeypatch):
    from solution.kaggle import kernel_client

    monkeypatch.setenv("FAKE_KAGGLE_FAIL", "404 Client Error: Not Found for url")
    assert kernel_client.status("me/emotion-train-resnet50").state == "absent"


def test_a_push_kaggle_accepted_with_a_dropped_input_is_recorded_and_its_problem_shown(kaggle_sessions, monkeypatch):
    """The real client prints "The following are not valid kernel sources ..." then "successfully pushed", exit 0, and
    the kernel runs: reported as failed, it went unrecorded and a re-run pushed a second running version."""
    root, log = kaggle_sessions
    monkeypatch.setenv("FAKE_KAGGLE_INVALID_SOURCES", "me/emotion-index")
    lines = []
    first = TRAINING[:1]
    assert push_queue.push_all(first, root, _slug, push_queue.Waiting(0, 24), log=lines.append, sleep=lambda s: None) == [first[0].name]
    entry = json.loads((root / push_queue.QUEUE_FILE).read_text())["kernels"][first[0].name]
    assert entry["problems"] and "me/emotion-index" in entry["problems"][0]
    assert any("PROBLEM: Kaggle said 'The following are not valid kernel sources" in line and "me/emotion-index" in line for line in lines)
    monkeypatch.delenv("FAKE_KAGGLE_INVALID_SOURCES")
    again = push_queue.push_all(first, root, _slug, push_queue.Waiting(0, 24), log=lines.append, sleep=lambda s: None)
    assert again == [] and len(_push_calls(log)) == 1, "recorded, so never pushed twice"
