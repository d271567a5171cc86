"""Feature flags: file store with hot reload and last-good fallback, OpenFeature provider."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from emily.core import BusyError, InputError, ManualClock
from emily.ops.flags import (
    DEFAULT_FLAGS,
    GFLOWNET_V2_FLAG,
    FileFlagProvider,
    FlagStore,
    _store,
    flags_path,
    install_flags,
    lock_path,
    parse_flags,
    select_gflownet,
)

FLAGS = """
flags:
  enable_gflownet_v2:
    variants: {on: true, off: false}
    default_variant: off
    targeting:
      - keys: [alice]
        variant: on
      - attribute: tier
        values: [beta]
        variant: on
    rollout: {variant: on, percent: 50}
  sampler:
    variants: {fast: fast, exact: exact}
    default_variant: exact
  batch:
    variants: {small: 16, big: 256}
    default_variant: big
  temperature:
    variants: {cold: 0.5, warm: 1}
    default_variant: warm
  paused:
    enabled: false
    variants: {on: true, off: false}
    default_variant: on
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> FlagStore:
    path = tmp_path / "flags.yaml"
    path.write_text(FLAGS, encoding="utf-8")
    return FlagStore(path, clock=clock, check_interval_s=1.0)


@pytest.fixture
def provider(store: FlagStore) -> Iterator[FileFlagProvider]:
    yield FileFlagProvider(store)
    api.clear_providers()


def test_on_and_off_are_variant_names_not_yaml_booleans() -> None:
    spec = parse_flags(FLAGS).flags[GFLOWNET_V2_FLAG]
    assert spec.variants == {"on": True, "off": False}
    assert spec.default_variant == "off"


def test_missing_file_serves_the_defaults(tmp_path: Path) -> None:
    store = FlagStore(tmp_path / "absent.yaml")
    assert store.flags() == DEFAULT_FLAGS
    assert store.last_error is None


def test_flags_path_is_under_emily_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMILY_HOME", str(tmp_path / "home"))
    assert flags_path() == tmp_path / "home" / "flags.yaml"


def test_targeting_rollout_and_default(provider: FileFlagProvider) -> None:
    resolve = provider.resolve_boolean_details
    alice = resolve(GFLOWNET_V2_FLAG, False, EvaluationContext(targeting_key="alice"))
    assert (alice.value, alice.reason, alice.variant) == (True, Reason.TARGETING_MATCH, "on")
    beta = resolve(GFLOWNET_V2_FLAG, False, EvaluationContext("bob", {"tier": "beta"}))
    assert beta.reason == Reason.TARGETING_MATCH
    split = [resolve(GFLOWNET_V2_FLAG, False, EvaluationContext(f"u{i}")) for i in range(400)]
    assert {d.reason for d in split} == {Reason.SPLIT}
    assert 0.35 < sum(d.value for d in split) / 400 < 0.65
    anonymous = resolve(GFLOWNET_V2_FLAG, True, None)
    assert (anonymous.value, anonymous.reason) == (False, Reason.STATIC)


def test_typed_resolution(provider: FileFlagProvider) -> None:
    assert provider.resolve_string_details("sampler", "x").value == "exact"
    assert provider.resolve_integer_details("batch", 1).value == 256
    warm = provider.resolve_float_details("temperature", 0.0).value
    assert warm == 1.0
    assert isinstance(warm, float)
    mismatch = provider.resolve_integer_details("sampler", 7)
    assert (mismatch.value, mismatch.error_code) == (7, ErrorCode.TYPE_MISMATCH)
    assert provider.resolve_object_details("sampler", {}).error_code == ErrorCode.TYPE_MISMATCH
    missing = provider.resolve_boolean_details("nope", True)
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    disabled = provider.resolve_boolean_details("paused", False)
    assert (disabled.value, disabled.reason) == (False, Reason.DISABLED)
    assert provider.get_metadata().name == "emily-file-flags"


def test_hot_reload_after_the_check_interval(store: FlagStore, clock: ManualClock) -> None:
    store.path.write_text(FLAGS.replace("default_variant: exact", "default_variant: fast"))
    assert store.flags().flags["sampler"].default_variant == "exact"  # not yet looked
    clock.advance(1.0)
    assert store.flags().flags["sampler"].default_variant == "fast"
    store.path.unlink()
    clock.advance(1.0)
    assert store.flags() == DEFAULT_FLAGS


def test_malformed_file_keeps_the_last_good_flags(
    store: FlagStore, clock: ManualClock, provider: FileFlagProvider
) -> None:
    good = store.flags()
    store.path.write_text("flags: {enable_gflownet_v2: {variants: {}, default_variant: on}}")
    clock.advance(1.0)
    assert store.flags() == good
    assert store.last_error is not None
    assert "keeping the last good flags" in store.last_error
    stale = provider.resolve_string_details("sampler", "x")
    assert (stale.value, stale.reason) == ("exact", Reason.STALE)
    assert "variants" in str(stale.flag_metadata["stale_error"])
    with pytest.raises(InputError, match="refusing to rewrite a malformed flags file"):
        store.set_variant("sampler", "fast")
    store.path.write_text(": not yaml : [")
    clock.advance(1.0)
    assert store.flags() == good
    store.path.write_text(FLAGS)
    clock.advance(1.0)
    store.flags()
    assert store.last_error is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must be a mapping"),
        ("flags: {x: {variants: {a: 1}, default_variant: b}}", "unknown variant"),
        ("flags: {x: {variants: {a: 1}, default_variant: a, targeting: [{variant: a}]}}", "needs"),
        (
            "flags: {x: {variants: {a: 1}, default_variant: a,"
            " targeting: [{variant: a, attribute: t}]}}",
            "needs `values`",
        ),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_flags(text)


def test_empty_file_means_no_flags() -> None:
    assert parse_flags("").flags == {}


def test_set_variant_rewrites_one_flag_and_keeps_the_rest(store: FlagStore) -> None:
    spec = store.set_variant(GFLOWNET_V2_FLAG, "on", percent=25)
    assert spec.rollout is not None
    assert spec.rollout.percent == 25
    assert spec.default_variant == "off"
    assert spec.targeting  # untouched
    spec = store.set_variant(GFLOWNET_V2_FLAG, "on")
    assert (spec.default_variant, spec.rollout) == ("on", None)
    assert store.set_variant("batch", "small", enabled=False).enabled is False
    reread = parse_flags(store.path.read_text(encoding="utf-8"))
    assert reread.flags["sampler"].default_variant == "exact"
    assert reread.flags[GFLOWNET_V2_FLAG].default_variant == "on"
    created = store.set_variant("brand_new", "on")
    assert created.variants == {"on": True, "off": False}


@pytest.mark.parametrize(
    ("key", "variant", "percent", "message"),
    [
        ("sampler", "nope", None, "unknown variant"),
        ("brand_new", "maybe", None, "must be set to on or off"),
        ("sampler", "fast", 150.0, "cannot set"),
    ],
)
def test_set_variant_rejects_bad_input_without_touching_the_file(
    store: FlagStore, key: str, variant: str, percent: float | None, message: str
) -> None:
    before = store.path.read_bytes()
    with pytest.raises(InputError, match=message):
        store.set_variant(key, variant, percent=percent)
    assert store.path.read_bytes() == before


def test_select_gflownet_through_the_openfeature_api(store: FlagStore) -> None:
    client = install_flags(store, domain="test-select")
    try:
        pick = {"v1": lambda: "V1", "v2": lambda: "V2"}
        assert select_gflownet(client, **pick, targeting_key="alice") == "V2"
        assert select_gflownet(client, **pick) == "V1"
    finally:
        api.clear_providers()


def test_set_variant_waits_for_the_lock_and_names_it_when_it_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_store, "LOCK_TIMEOUT_S", 0.2)
    path = tmp_path / "flags.yaml"
    store = FlagStore(path, check_interval_s=0.0)
    with FileLock(lock_path(path)), pytest.raises(BusyError, match=r"\.flags\.yaml\.lock"):
        store.set_variant("held", "on")  # another writer (here: this test) holds the lock
    assert not path.exists()
    assert store.set_variant("held", "on").default_variant == "on"  # released: it goes through


def test_threads_of_one_process_queue_without_polling_the_file_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one thread writes, the others of its process wait on a blocking lock: only one
    thread per process polls the file lock, so waiters do not starve the writer of the GIL."""
    path = tmp_path / "flags.yaml"
    inside, release = threading.Event(), threading.Event()
    polling: list[str] = []
    real_set = FlagStore._set_variant
    real_acquire = FileLock.acquire

    def slow_set(self: FlagStore, key: str, *args: object) -> object:
        inside.set()
        release.wait(timeout=30)
        return real_set(self, key, *args)  # type: ignore[arg-type]

    def counted_acquire(self: FileLock, *args: object, **kwargs: object) -> object:
        polling.append(threading.current_thread().name)
        return real_acquire(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FlagStore, "_set_variant", slow_set)
    monkeypatch.setattr(FileLock, "acquire", counted_acquire)
    stores = [FlagStore(path, check_interval_s=0.0) for _ in range(2)]  # two stores, one file
    first = threading.Thread(target=stores[0].set_variant, args=("first", "on"), name="first")
    first.start()
    assert inside.wait(timeout=30)
    waiters = [
        threading.Thread(target=stores[i % 2].set_variant, args=(f"f{i}", "on"), name=f"w{i}")
        for i in range(8)
    ]
    for waiter in waiters:
        waiter.start()
    try:
        threading.Event().wait(0.5)  # time for the waiters to reach whatever lock they wait on
        assert polling == ["first"]  # the waiters never touched the file lock while it was held
    finally:
        release.set()
        for thread in [first, *waiters]:
            thread.join(timeout=60)
    assert set(stores[0].flags().flags) >= {"first", *(f"f{i}" for i in range(8))}
