"""Model-based test: ReflexMemory against a dict model, through learn/forget/reinforce/restart."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from emily.core import ManualClock
from emily.instinct import InMemoryReflexStore, ReflexHit, ReflexMemory
from emily.instinct._hdc import random_hv, seeded_rng

DIM = 512


class ReflexMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.store = InMemoryReflexStore()
        self.memory = ReflexMemory(DIM, store=self.store, clock=self.clock, half_life_s=None)
        self.model: dict[str, tuple[bytes, str, float]] = {}

    @rule(key=st.integers(0, 12), response=st.text(max_size=5), conf=st.floats(0, 1))
    def learn(self, key: int, response: str, conf: float) -> None:
        vector = random_hv(DIM, seeded_rng(key, "machine"))
        rid = self.memory.learn(vector, response, conf)
        self.model[rid] = (vector.tobytes(), response, conf)

    @rule(index=st.integers(0, 50))
    def forget(self, index: int) -> None:
        if self.model:
            rid = sorted(self.model)[index % len(self.model)]
            assert self.memory.forget(rid)
            del self.model[rid]

    @rule(index=st.integers(0, 50), reward=st.floats(-1, 1))
    def reinforce(self, index: int, reward: float) -> None:
        if self.model:
            rid = sorted(self.model)[index % len(self.model)]
            vec, resp, c = self.model[rid]
            new = c + reward * (1 - c) if reward > 0 else c * (1 + reward)
            assert abs(self.memory.reinforce(rid, reward) - new) < 1e-12
            self.model[rid] = (vec, resp, new)

    @rule()
    def restart(self) -> None:
        self.memory = ReflexMemory(DIM, store=self.store, clock=self.clock, half_life_s=None)

    @invariant()
    def every_reflex_answers_its_own_stimulus(self) -> None:
        assert sorted(self.memory.ids()) == sorted(self.model)
        for rid, (vec, resp, conf) in self.model.items():
            hit = self.memory.lookup(np.frombuffer(vec, np.uint8))
            assert isinstance(hit, ReflexHit)
            assert (hit.reflex_id, hit.response, hit.similarity) == (rid, resp, 1.0)
            assert abs(hit.confidence - conf) < 1e-12


ReflexMachine.TestCase.settings = settings(max_examples=30, deadline=None)
TestReflexMachine = ReflexMachine.TestCase
