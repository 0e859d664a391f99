"""The turn queue the settings build: its cap, and its pacing while turns are CPU-bound."""

from __future__ import annotations

from wrapper.config import load_settings
from wrapper.wiring.backend import admission_for


def test_with_a_pool_turns_are_paced_from_as_many_as_cores() -> None:
    admission = admission_for(load_settings({}), cores=2)
    assert admission.limit == 8  # one turn per pooled process
    assert admission.cpu_bound_limit == 2


def test_max_cpu_bound_turns_sets_the_pace_and_zero_turns_it_off() -> None:
    assert admission_for(load_settings({"MAX_CPU_BOUND_TURNS": "3"}), cores=2).cpu_bound_limit == 3
    assert admission_for(load_settings({"MAX_CPU_BOUND_TURNS": "0"}), cores=2).cpu_bound_limit == 0


def test_without_a_pool_nothing_tells_when_turns_are_cpu_bound() -> None:
    settings = load_settings({"POOL_ENABLED": "false", "MAX_CPU_BOUND_TURNS": "3"})
    assert admission_for(settings).cpu_bound_limit == 0
