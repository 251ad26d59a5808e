"""Signals held over a prompt's commit: the block finishes, then the job is interrupted."""

from __future__ import annotations

import os
import signal

import pytest

from fusion.errors import Interrupted, interrupts_held


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_waits_for_the_block_then_interrupts_with_its_number(signum):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    finished = []
    with pytest.raises(Interrupted) as raised:
        with interrupts_held():
            os.kill(os.getpid(), signum)
            finished.append("the rest of the block ran")
    assert finished == ["the rest of the block ran"]
    assert raised.value.signum == signum
    assert {s: signal.getsignal(s) for s in before} == before, "the handlers are put back"


def test_a_second_signal_interrupts_at_once():
    reached = []
    with pytest.raises(Interrupted) as raised:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("after the second signal")
    assert reached == [] and raised.value.signum == signal.SIGTERM


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_without_a_signal_nothing_is_raised():
    with interrupts_held():
        value = 1
    assert value == 1
