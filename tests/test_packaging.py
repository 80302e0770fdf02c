"""The installed dependency tree: the CPU build of XGBoost by default, CUDA only on request.

`pip install coatml` (and `.[dev]`, what CI installs) must not bring XGBoost's CUDA build
(the `xgboost` distribution, 230 MB) or the NVIDIA libraries it pulls (`nvidia-nccl-cu12`,
470 MB); `pip install 'coatml[gpu]'` adds them on purpose. These tests read the metadata of
the distributions installed in the running environment (importlib.metadata).
"""

from __future__ import annotations

import re
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement

#: Distributions that only the `gpu` extra may bring in.
CUDA_ONLY = re.compile(r"^(xgboost|nvidia-.*)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = dict(default_environment())
    return any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))


def dependency_closure(root: str, extras: set[str]) -> set[str]:
    """Names of every distribution that ``root[extras]`` requires, directly or through the
    installed distributions' own requirements (their extras only where asked for)."""
    seen: set[str] = set()
    todo: list[tuple[str, set[str]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here (another platform's marker, or an unused extra)
        for line in requires:
            req = Requirement(line)
            if not _applies(req, wanted):
                continue
            dep = _canonical(req.name)
            key = dep + "[" + ",".join(sorted(req.extras)) + "]"
            if key not in seen:
                seen.add(key)
                todo.append((dep, set(req.extras)))
    return {key.split("[")[0] for key in seen}


def test_default_and_dev_installs_bring_no_cuda_build() -> None:
    closure = dependency_closure("coatml", {"dev"})
    assert {"numpy", "mlflow", "optuna", "pytest"} <= closure  # the walk reached the tree
    cuda_only = sorted(n for n in closure if CUDA_ONLY.match(n))
    if default_environment()["sys_platform"] in ("linux", "win32"):
        assert "xgboost-cpu" in closure
        assert cuda_only == [], f"pulled in without the gpu extra: {cuda_only}"
    else:  # macOS: no xgboost-cpu wheel; `xgboost` is CPU-only there and pulls no nvidia-*
        assert cuda_only == ["xgboost"]


def test_the_walk_sees_the_cuda_build_where_the_gpu_extra_asks_for_it() -> None:
    # the same walk over coatml[gpu] must find it, or the test above could not fail
    if default_environment()["sys_platform"] in ("linux", "win32"):
        assert "xgboost" in dependency_closure("coatml", {"gpu"})
        assert "xgboost" not in dependency_closure("coatml", set())


def test_installed_xgboost_matches_the_installed_distributions() -> None:
    import xgboost

    installed = {_canonical(d.metadata["Name"]) for d in metadata.distributions()}
    cuda = xgboost.build_info().get("USE_CUDA", False)
    if "xgboost" in installed:
        # the gpu extra (or a deliberate install): its CUDA library must be the one loaded,
        # not overwritten by xgboost-cpu's files in the shared `xgboost` folder
        if "xgboost-cpu" in installed and default_environment()["sys_platform"] == "linux":
            assert cuda, "xgboost-cpu's library replaced the CUDA build's"
    else:
        assert "xgboost-cpu" in installed
        assert not cuda
        nvidia = sorted(n for n in installed if n.startswith("nvidia-"))
        assert nvidia == [], f"NVIDIA libraries installed without the gpu extra: {nvidia}"


def test_web_page_is_an_extra() -> None:
    # the core install stays light: Streamlit only with `coatml[ui]`; the dev extra (what CI
    # installs) brings it and Playwright so the page's tests run
    core = dependency_closure("coatml", set())
    assert "streamlit" not in core and "playwright" not in core
    assert "streamlit" in dependency_closure("coatml", {"ui"})
    assert {"streamlit", "playwright"} <= dependency_closure("coatml", {"dev"})
