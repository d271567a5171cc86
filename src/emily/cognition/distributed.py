"""Scale-out on Ray: a seed / hyper-parameter sweep, or parallel sampling from a checkpoint.

A local cluster is bound to loopback: ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``,
``RAY_AUTH_MODE=disabled`` and ``RAY_USAGE_STATS_ENABLED=0`` keep every listener on 127.0.0.1
(``_node_ip_address`` alone is ignored) and no dashboard is started. A real cluster is reached by
``address`` (``ray://host:10001`` or ``host:6379``). Ray is an optional extra: ``pip install ray``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from emily.core.errors import ConfigError

LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def use_loopback_env() -> None:
    """Set the loopback-only Ray settings unless already set. Ray reads them when it is first
    imported, so this must run before ``import ray`` (``ray_session`` calls it)."""
    for key, value in LOOPBACK_ENV.items():
        os.environ.setdefault(key, value)


use_loopback_env()  # before any ``import ray`` that goes through this module


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise ConfigError(
            "Ray is not installed; install the extra: pip install 'emily-sovereign[ray]'"
        ) from exc
    return ray


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Start (or connect to) Ray for the duration of the block, then shut it down.

    If Ray is already initialised in this process (a caller manages the cluster), it is reused
    and left running.
    """
    use_loopback_env()
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        from ray._private import ray_constants

        if ray_constants.ENABLE_RAY_CLUSTER:
            raise ConfigError(
                "Ray was imported before its loopback-only settings were set, so a local "
                "cluster would listen on every interface; set "
                + " ".join(f"{k}={v}" for k, v in LOOPBACK_ENV.items())
                + " in the environment (or import emily.cognition.distributed first)"
            )
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    try:
        yield ray
    finally:
        ray.shutdown()


def train_one(
    env_spec: dict[str, Any],
    config: dict[str, Any],
    steps: int | None,
    seconds: float | None,
    checkpoint: str | None = None,
) -> dict[str, Any]:
    """Train one GFlowNet and summarise it (runs in a Ray worker, or inline)."""
    from emily.cognition.envs import make_env
    from emily.cognition.gflownet import GFlowNet, GFlowNetConfig

    cfg = GFlowNetConfig.model_validate(config)
    env = make_env(env_spec, device=cfg.device)
    net = GFlowNet(env, cfg)
    summary = net.train(steps=steps, seconds=seconds, progress=False)
    out: dict[str, Any] = {
        "config": cfg.model_dump(),
        "steps": summary.steps,
        "trajectories": summary.trajectories,
        "seconds": summary.seconds,
        "final_loss": summary.final_loss,
        "log_z": summary.log_z,
        "pid": os.getpid(),
    }
    if env.enumerable:
        out["l1"], out["jsd"] = net.exact_metrics()
    if checkpoint:
        out["checkpoint"] = str(net.save(checkpoint))
    return out


def sweep(
    env_spec: dict[str, Any],
    configs: list[dict[str, Any]],
    *,
    steps: int | None = None,
    seconds: float | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> list[dict[str, Any]]:
    """Train one GFlowNet per config as Ray tasks; results in config order."""
    if not configs:
        raise ConfigError("a sweep needs at least one config")
    with ray_session(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1)(train_one)
        refs = [task.remote(env_spec, c, steps, seconds) for c in configs]
        results: list[dict[str, Any]] = ray.get(refs)
    return results


def _sample_chunk(checkpoint: bytes, n: int, seed: int) -> list[int]:
    import torch

    from emily.cognition.gflownet import GFlowNet

    net = GFlowNet.load(checkpoint)
    torch.manual_seed(seed)
    samples: list[int] = net.generate(n).keys.tolist()
    return samples


def sample_parallel(
    checkpoint_path: str,
    num_samples: int,
    *,
    workers: int = 2,
    address: str | None = None,
    seed: int = 0,
) -> list[int]:
    """Draw ``num_samples`` hypothesis keys from a saved GFlowNet across ``workers`` Ray tasks."""
    if num_samples < 1 or workers < 1:
        raise ConfigError("num_samples and workers must be >= 1")
    with open(checkpoint_path, "rb") as fh:
        blob = fh.read()
    sizes = [num_samples // workers + (i < num_samples % workers) for i in range(workers)]
    with ray_session(address, None) as ray:
        task = ray.remote(num_cpus=1)(_sample_chunk)
        ref = ray.put(blob)
        parts = ray.get([task.remote(ref, s, seed + i) for i, s in enumerate(sizes) if s])
    return [k for part in parts for k in part]
