"""The labelling page's store and server without a browser (tests/e2e/test_label_page.py drives the
page itself): blind items, the labeller's order, labels written once in hand_labels' format, resume,
bad input, and the rubric being docs/judges.md's."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import asdict

import pytest

from fusion.commands.label import main
from fusion.errors import ConfigError, SetupError
from fusion.evaluate.hand_labels import load
from fusion.evaluate.label_server import make_server
from fusion.evaluate.labelling import BLIND, Item, LabelStore, read_items, rubric, shuffled
from tests.helpers import PROJECT_ROOT


def _items(tmp_path, n=3, **extra):
    path = tmp_path / "pending-0000.jsonl"
    lines = [{"id": f"h{i:04d}", "question": f"Q{i}?", "gold": "g", "answer": f"a{i}", **extra} for i in range(n)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_the_page_shows_only_question_gold_and_answer(tmp_path):
    path = _items(tmp_path, group="full[fixed]", seed=2, simpleqa="CORRECT", sources=[{"replicate": "r"}])
    store = LabelStore(read_items(path), tmp_path / "labels.jsonl", "L0", "v")
    state = asdict(store.state())
    assert set(state["item"]) == set(BLIND) == {"id", "question", "gold", "answer"}
    assert "full[fixed]" not in json.dumps(state) and "CORRECT" not in json.dumps(state)


def test_each_labeller_has_an_own_fixed_order():
    items = [Item(f"h{i:04d}", f"Q{i}", "g", "a") for i in range(20)]
    assert shuffled(items, "L1") == shuffled(list(reversed(items)), "L1")
    assert shuffled(items, "L1") != shuffled(items, "L2") and shuffled(items, "L1") != items


def test_labels_are_written_once_in_the_hand_labels_format_and_a_restart_resumes(tmp_path):
    path = _items(tmp_path)
    for name in ("items.jsonl", "key.jsonl"):  # the folder fusion adjudicate keeps
        (tmp_path / name).write_text("")
    (tmp_path / "items.jsonl").write_text(path.read_text())
    key = {"model": "m", "index": 1, "split": "heldout", "stratum": "adjudication", "sources": []}
    (tmp_path / "key.jsonl").write_text("".join(json.dumps({"id": f"h{i:04d}", **key}) + "\n" for i in range(3)))
    out = tmp_path / "labels.jsonl"
    out.write_text(
        '{"id": "h0001", "labeller": "L9", "rubric": "labels-v1", "verdict": "INCORRECT", '
        '"language": "FLUENT", "note": ""}'
    )  # fmt: skip  (another labeller's, no last newline)
    store = LabelStore(read_items(path), out, "L0", "labels-v1.1")
    first = store.next()
    assert first is not None and store.state().done == 0  # L9's label is not L0's
    store.write(first.id, "CORRECT", "FLUENT", "  plain\nanswer ")
    with pytest.raises(ConfigError, match="labelled already"):
        store.write(first.id, "INCORRECT", "FLUENT")
    with pytest.raises(ConfigError, match="a verdict of"):
        store.write("h0002", "YES", "FLUENT")
    with pytest.raises(ConfigError, match="not in this batch"):
        store.write("h9999", "CORRECT", "FLUENT")
    again = LabelStore(read_items(path), out, "L0", "labels-v1.1")
    assert again.done == {first.id} and again.next() == shuffled(again.items, "L0")[1]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[1] == {
        "id": first.id,
        "labeller": "L0",
        "rubric": "labels-v1.1",
        "verdict": "CORRECT",
        "language": "FLUENT",
        "note": "plain answer",
    }
    assert {i.id: (i.strict, i.labellers) for i in load(tmp_path)}[first.id] == ("true", 1)


def test_a_bad_label_is_answered_400_and_writes_nothing(tmp_path):
    store = LabelStore(read_items(_items(tmp_path)), tmp_path / "labels.jsonl", "L0", "v")
    server = make_server(store, rubric(), 0)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:

        def post(body: dict) -> tuple[int, dict]:
            request = urllib.request.Request(f"{url}/api/label", data=json.dumps(body).encode(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        item = store.next()
        assert item is not None
        status, state = post({"id": item.id, "verdict": "CORRECT", "language": "MAYBE"})
        assert status == 400 and "a language of" in state["error"] and state["item"]["id"] == item.id
        assert not (tmp_path / "labels.jsonl").exists()
        status, state = post({"id": item.id, "verdict": "CORRECT", "language": "BORDERLINE"})
        assert status == 200 and state["done"] == 1 and state["item"]["id"] != item.id
        with urllib.request.urlopen(f"{url}/", timeout=10) as response:
            assert b"/label.js" in response.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found: pass the items file"),
        ("", "holds no items"),
        ("not json\n", ":1: not a JSON object"),
        ('{"id": "h0", "model": "m", "sources": []}\n', "lacks a string id/question/gold/answer"),
    ],
)
def test_bad_items_stop_in_one_line_with_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "items.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main([str(path), "--labeller", "L0", "--port", "0"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


def test_a_taken_port_and_an_empty_name_stop_in_one_line(tmp_path, capsys):
    path = _items(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([str(path), "--labeller", " ", "--port", "0"])
    assert exit_info.value.code == 2 and "--labeller: give your name" in capsys.readouterr().err
    store = LabelStore(read_items(path), tmp_path / "labels.jsonl", "L0", "v")
    taken = make_server(store, rubric(), 0)
    try:
        with pytest.raises(SetupError, match=f"--port {taken.server_address[1]}: cannot listen"):
            make_server(store, rubric(), taken.server_address[1])
    finally:
        taken.server_close()


def test_the_rubric_on_the_page_is_the_one_in_docs_judges_md():
    current = rubric()
    docs = (PROJECT_ROOT / "docs" / "judges.md").read_text()
    assert f"**{current.version}**" in docs or f"({current.version})" in docs
    flat = " ".join(docs.split()).lower()
    for sentence in re.split(r"(?<=\.) ", " ".join(current.text.split()).lower()):
        assert sentence in flat, sentence
    page = current.html()
    assert "<strong>Label 1: does the answer commit to the gold?</strong>" in page and page.count("<li>") == 7
