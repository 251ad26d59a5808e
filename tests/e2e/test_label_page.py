"""The labelling page in a real browser: headless Chromium driven by Selenium against `fusion label`.

Answers with judge positives (the committed answers sample, some steered answers replaced by a
plain statement of the gold) are exported by the real `fusion adjudicate`, labelled on the page
with the keyboard only, and read back by `fusion adjudicate` and `fusion report --labels`.
Chromium and its driver come from Debian (`make browser`); the paths are given explicitly so that
Selenium Manager never looks for a browser online. FUSION_SCREENSHOT=docs/screenshots/label.png
refreshes the docs' screenshot of the page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fusion.evaluate.hand_labels import load
from fusion.evaluate.judges.rules import RulesJudge
from fusion.evaluate.labelling import BLIND, read_items, rubric, shuffled
from fusion.tracking.answers import read_answers, regrade, write_answers
from tests.e2e.servers import stop
from tests.helpers import PROJECT_ROOT

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    missing = "chromium and chromium-driver are not installed (`make browser` installs them)"
    if os.environ.get("CI"):
        raise RuntimeError(f"{missing}: on CI the browser tests must run")
    pytest.skip(missing, allow_module_level=True)

from selenium import webdriver  # noqa: E402 (only where the browser is)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _export(tmp_path: Path, positives: int) -> tuple[Path, Path, Path]:
    """An answers file whose first steered replicate has ``positives`` judge positives, and the
    batch `fusion adjudicate` exports from it: (answers, labels folder, batch)."""
    reps = read_answers(SAMPLE)
    rows = [dict(r) for r in reps[1].rows]
    for row in rows[:positives]:
        row["answer"] = f"The answer is {row['gold']}."
    reps[1] = replace(reps[1], rows=rows)
    answers = write_answers(tmp_path / "answers.jsonl.gz", regrade(reps, RulesJudge()))
    folder = tmp_path / "labels"
    folder.mkdir()
    for name in ("items.jsonl", "key.jsonl", "labels.jsonl"):
        (folder / name).write_text("")
    out = _fusion("adjudicate", "--answers", str(answers), "--labels", str(folder))
    assert out.startswith(f"{positives} answers to label"), out
    return answers, folder, Path(out.splitlines()[0].rsplit(": ", 1)[1].strip())  # the batch it names


def _fusion(*argv: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "fusion", *argv], capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Page:
    """`fusion label` in its own session, and a headless Chromium on its page."""

    def __init__(self, batch: Path, labeller: str, log: Path) -> None:
        self.batch, self.labeller, self.log = batch, labeller, log
        self.server: subprocess.Popen | None = None
        self.driver: webdriver.Chrome | None = None

    def start_server(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "fusion", "label", str(self.batch), "--labeller", self.labeller, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.server.stdout is not None
        line = self.server.stdout.readline()  # the server prints its address once it listens
        self.log.write_text(line)
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line
        self.url = match.group(0)

    def open(self) -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        self.driver.get(self.url)
        self.wait_for(lambda d: d.find_element(By.ID, "progress-text").text != "")
        return self.driver

    def wait_for(self, condition) -> None:
        assert self.driver is not None
        WebDriverWait(self.driver, 20).until(condition)

    def keys(self, *keys: str) -> None:
        assert self.driver is not None
        ActionChains(self.driver).send_keys(*keys).perform()

    def text(self, element_id: str) -> str:
        assert self.driver is not None
        return self.driver.find_element(By.ID, element_id).text

    def close_browser(self) -> None:
        if self.driver is not None:
            self.driver.quit()
            self.driver = None

    def stop(self) -> None:
        self.close_browser()
        if self.server is not None:
            stop(self.server)
            self.server = None


@pytest.fixture
def page_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not go online even if asked
    pages: list[Page] = []

    def make(batch: Path, labeller: str) -> Page:
        page = Page(batch, labeller, tmp_path / f"label-{len(pages)}.log")
        pages.append(page)
        page.start_server()
        return page

    yield make
    for page in pages:
        page.stop()


def _label(page: Page, n: int, total: int, *keys: str) -> None:
    """Label the item shown as ``n`` of ``total`` with ``keys`` and wait for the next one."""
    assert page.text("progress-text") == f"item {n} of {total}"
    page.keys(*keys)
    done = f"{total} of {total} done" if n == total else f"item {n + 1} of {total}"
    page.wait_for(lambda d: d.find_element(By.ID, "progress-text").text == done)


def test_every_item_is_labelled_with_the_keyboard_and_a_closed_page_resumes(tmp_path, page_for):
    answers, folder, batch = _export(tmp_path, positives=4)
    items = read_items(batch)
    order = [i.question for i in shuffled(items, "L1")]
    page = page_for(batch, "L1")
    driver = page.open()
    version = rubric().version
    assert page.text("version") == version and "Label 1: does the answer commit to the gold?" in page.text("rubric")
    # blind: the page shows question, gold and answer, never where the answer came from or its grade
    state = json.loads(driver.execute_script("return JSON.stringify(state)"))
    assert set(state["item"]) == set(BLIND)
    source = driver.page_source
    for rep in read_answers(answers):
        assert rep.id not in source and rep.id not in json.dumps(state)
    assert page.text("question") == order[0]

    page.keys("c")  # label 1 chosen: label 2 is highlighted, Enter does nothing yet
    assert "active" in driver.find_element(By.ID, "row-language").get_attribute("class")
    page.keys(Keys.ENTER)
    assert page.text("progress-text") == "item 1 of 4"
    if shot := os.environ.get("FUSION_SCREENSHOT"):  # refreshes docs/screenshots/label.png
        driver.save_screenshot(shot)
    _label(page, 1, 4, "f", Keys.ENTER)
    assert page.text("question") == order[1]
    _label(page, 2, 4, "i", "g", "t", "gold only as a copied word", Keys.ENTER)

    # closing the browser and stopping the server lose nothing: both come back at item 3
    page.stop()
    assert len((folder / "labels.jsonl").read_text().splitlines()) == 2
    page.start_server()
    page.open()
    assert page.text("question") == order[2]
    _label(page, 3, 4, "c", "b", Keys.ENTER)  # b: borderline for the highlighted label, the language
    page.close_browser()
    page.open()  # a reopened page on the same server resumes too
    assert page.text("question") == order[3]
    _label(page, 4, 4, "b", "f", Keys.ENTER)  # b first: borderline for label 1
    assert "Every item is labelled" in page.text("done") and str(folder / "labels.jsonl") in page.text("done")

    by_question = {i.id: i.question for i in items}
    labels = [json.loads(line) for line in (folder / "labels.jsonl").read_text().splitlines()]
    assert [by_question[label["id"]] for label in labels] == order  # each once, in the labeller's order
    assert [(la["verdict"], la["language"]) for la in labels] == [
        ("CORRECT", "FLUENT"),
        ("INCORRECT", "BABBLE"),
        ("CORRECT", "BORDERLINE"),
        ("BORDERLINE", "FLUENT"),
    ]
    assert {(la["labeller"], la["rubric"]) for la in labels} == {("L1", version)}
    assert [la["note"] for la in labels] == ["", "gold only as a copied word", "", ""]
    assert set(labels[0]) == {"id", "labeller", "rubric", "verdict", "language", "note"}
    strict = {i.question: i.strict for i in load(folder)}
    assert [strict[q] for q in order] == ["true", "false", "borderline", "borderline"]


def test_labels_made_on_the_page_adjudicate_the_report(tmp_path, page_for):
    answers, folder, batch = _export(tmp_path, positives=3)
    page = page_for(batch, "L2")
    page.open()
    for n, keys in enumerate((("c", "f"), ("i", "f"), ("c", "b")), start=1):
        _label(page, n, 3, *keys, Keys.ENTER)
    page.stop()

    # nothing is left to export, and the report counts only the positive a person confirmed
    assert _fusion("adjudicate", "--answers", str(answers), "--labels", str(folder), "--dry-run").startswith(
        "0 strict positives carry no hand label"
    )
    out = tmp_path / "report"
    argv = ["--answers", str(answers), "--labels", str(folder), "--replication", "--json", "--resamples", "200"]
    numbers = json.loads(_fusion("report", *argv, "--no-log", "--out", str(out)))
    steered = read_answers(answers)[1]
    group = next(k for k, v in numbers.items() if k != "paired" and steered.id in v.get("runs", []))
    assert numbers[group]["correct_fluent"] == pytest.approx(1 / 8)
    report = (out / "REPORT.md").read_text()
    assert "3 of the 3 positives were adjudicated, 0 were not yet read" in report
    assert f"| {group} | 3 | 1 | 1 | 1 | 0 | 0.50 |" in report
