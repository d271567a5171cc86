"""Replay of good trajectories: a bounded buffer of the best distinct terminal hypotheses.

Each entry is a trajectory's action sequence (stop-padded to ``max_steps + 1``) and its
log-reward, keyed by its terminal state. When full, the lowest-reward entry is evicted, so the
buffer holds the best hypotheses seen. Sampling is uniform over entries; replayed trajectories are
re-simulated through the environment (no stored network outputs go stale).
"""

from __future__ import annotations

import torch

from emily.core.errors import InputError


class ReplayBuffer:
    """Top-``capacity`` distinct trajectories by log-reward."""

    def __init__(self, capacity: int, length: int, seed: int = 0) -> None:
        if capacity < 1:
            raise InputError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity, self.length = capacity, length
        self.actions = torch.empty(0, length, dtype=torch.long)
        self.log_reward = torch.empty(0, dtype=torch.float64)
        self.keys = torch.empty(0, dtype=torch.long)
        self._gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return int(self.keys.numel())

    def add(self, actions: torch.Tensor, log_reward: torch.Tensor, keys: torch.Tensor) -> None:
        """Add trajectories (``[n, length]`` actions); known terminals are skipped."""
        actions, log_reward, keys = actions.cpu(), log_reward.cpu().double(), keys.cpu()
        fresh = ~torch.isin(keys, self.keys)
        _, first = torch.unique(keys, return_inverse=True)
        keep = torch.zeros_like(fresh)
        seen: set[int] = set()
        for i, (k, ok) in enumerate(zip(first.tolist(), fresh.tolist(), strict=True)):
            if ok and k not in seen:
                seen.add(k)
                keep[i] = True
        if not keep.any():
            return
        self.actions = torch.cat([self.actions, actions[keep]])
        self.log_reward = torch.cat([self.log_reward, log_reward[keep]])
        self.keys = torch.cat([self.keys, keys[keep]])
        if len(self) > self.capacity:
            top = torch.topk(self.log_reward, self.capacity).indices
            self.actions, self.log_reward, self.keys = (
                self.actions[top],
                self.log_reward[top],
                self.keys[top],
            )

    def sample(self, n: int, shuffle: bool = False) -> torch.Tensor:
        """``[n, length]`` action sequences drawn uniformly (with replacement).

        ``shuffle`` puts each sequence's moves in a fresh random order (the stop pads stay at
        the end): where actions commute (adding edges, incrementing coordinates) that is a
        draw from the uniform backward policy of the same terminal state, so replay trains
        every path into a good hypothesis rather than the one that first found it.
        """
        if len(self) == 0:
            raise InputError("cannot sample from an empty replay buffer")
        idx = torch.randint(len(self), (n,), generator=self._gen)
        actions = self.actions[idx]
        return shuffle_moves(actions, self._gen) if shuffle else actions


def shuffle_moves(actions: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each row's moves in a fresh random order, the stop pads (the largest action) kept last."""
    stop = int(actions.max())
    moves = actions != stop
    noise = torch.rand(actions.shape, generator=generator).masked_fill(~moves, 2.0)
    return actions.gather(1, noise.argsort(dim=1))
