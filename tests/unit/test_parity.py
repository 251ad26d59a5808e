"""Our scoring, in the paper's variant, reproduces the published figures from the authors' files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import PAPER_DIR, PROJECT_ROOT

PAPER = PAPER_DIR
PUBLISHED_ACCURACY = {"baseline": 3.5, "full": 16.2, "segmented": 25.4}


def run_parity(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fusion", "parity", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.skipif(not PAPER.is_dir(), reason=f"the authors' published files are not at {PAPER}")
def test_parity_with_published_numbers():
    result = run_parity(str(PAPER), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    numbers = json.loads(result.stdout)
    for method, published in PUBLISHED_ACCURACY.items():
        ours = numbers["ours"][method]
        assert abs(ours["accuracy_pct"] - published) <= 0.5, method
        for key in ("composite_mean", "composite_median", "composite_std", "overlap_mean"):
            assert ours[key] == pytest.approx(numbers["published"][method][key], abs=0.005), (method, key)
    # the data-free tokenizer agrees with the authors' NLTK overlaps on every published value
    assert numbers["ours"]["full"]["overlap_equal_to_authors"] == 260
    assert numbers["ours"]["segmented"]["overlap_equal_to_authors"] == 260
    assert numbers["ours"]["segmented"]["ungraded_prompts"] == 1  # prompt 66, scored with grade 0


@pytest.mark.skipif(not PAPER.is_dir(), reason=f"the authors' published files are not at {PAPER}")
def test_parity_table():
    result = run_parity(str(PAPER))
    assert result.returncode == 0, result.stderr
    assert "accuracy parity: OK" in result.stdout and "25.385 (25.4)" in result.stdout


def test_parity_names_a_missing_file(tmp_path):
    result = run_parity(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "incorrect.csv is missing" in result.stderr


@pytest.mark.skipif(not PAPER.is_dir(), reason=f"the authors' published files are not at {PAPER}")
def test_judge_agreement_on_the_held_out_half_is_what_the_docs_say():
    """``--judges`` on the authors' files: the counts of each half, kappa and QWK as scikit-learn
    computes them, and the table in docs/judges.md regenerated to the digit."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    from fusion.bench.parity import judge_agreement, judged_answers
    from fusion.evaluate.judges.rules import grade_answer

    table = judge_agreement(PAPER)
    odd = table["odd"]
    assert (odd["baseline"].n, odd["full"].n, odd["segmented"].n, odd["full+segmented"].n) == (130, 130, 260, 390)
    assert sum(odd["full+segmented"].decisions[1]) == 26  # Mistral >= 4 on the odd half
    rows = judged_answers(PAPER)
    rows = rows[(rows["pid"] % 2 == 1) & rows["mode"].isin(["full", "segmented"])]
    graded = [grade_answer(g, a, q) for g, a, q in zip(rows["gold"], rows["answer"], rows["question"])]
    ours_accurate = [label == "CORRECT" for label, _, _ in graded]
    assert odd["full+segmented"].kappa == pytest.approx(
        sklearn_metrics.cohen_kappa_score(ours_accurate, (rows["grade"] >= 4).tolist())
    )
    assert odd["full+segmented"].qwk == pytest.approx(
        sklearn_metrics.cohen_kappa_score([q for _, q, _ in graded], rows["grade"].tolist(), weights="quadratic")
    )
    documented = (PROJECT_ROOT / "docs" / "judges.md").read_text()
    for half, groups in table.items():
        label = "even (calibration)" if half == "even" else "odd (held out)"
        for group, a in groups.items():
            line = (
                f"| {label} | {group} | {a.n} | {sum(a.decisions[1])} | {a.exact:.2f} | {a.kappa:.2f} | "
                f"{a.precision:.2f} | {a.recall:.2f} | {a.qwk:.2f} |"
            )
            assert line in documented, line


@pytest.mark.skipif(not PAPER.is_dir(), reason=f"the authors' published files are not at {PAPER}")
def test_judges_table_prints_both_halves():
    result = run_parity(str(PAPER), "--judges")
    assert result.returncode == 0, result.stderr
    assert "| odd (held out) | full+segmented | 390 | 26 |" in result.stdout
    assert "even half, full+segmented: accurate decision" in result.stdout
