import random

import numpy as np
import pytest
import torch

from course_utils.environment import (
    OFFLINE_GUARD,
    QUICK_MODE_ENV,
    REPRODUCIBLE_ENV,
    best_device,
    environment_report,
    quick_mode,
    resolve_device,
    set_seed,
    setup_notebook,
    use_reproducible_settings,
)


def draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand())  # noqa: NPY002, float(torch.rand(1))


def test_set_seed_makes_all_three_generators_repeat():
    set_seed(123)
    first = draw()
    set_seed(123)
    assert draw() == first
    set_seed(124)
    assert draw() != first


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_set_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        set_seed(seed)


def test_setup_notebook_seeds_and_styles():
    import matplotlib as mpl

    setup_notebook(7)
    first = draw()
    assert mpl.rcParams["axes.grid"] is True
    setup_notebook(7)
    assert draw() == first


def test_best_device_agrees_with_torch():
    device = best_device()
    assert device in {"cpu", "cuda", "mps"}
    assert (device == "cuda") == torch.cuda.is_available()


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type == best_device()
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            resolve_device("cuda")


def test_environment_report_describes_this_process():
    report = environment_report()
    assert report.torch == torch.__version__
    assert report.numpy == np.__version__
    assert report.torch_threads == torch.get_num_threads()
    assert report.device == best_device()
    text = str(report)
    assert "PyTorch" in text and report.torch in text


def test_the_suite_runs_with_the_reproducible_settings():
    import os

    for name, value in REPRODUCIBLE_ENV.items():
        assert os.environ[name] == value
    assert (OFFLINE_GUARD / "sitecustomize.py").is_file()
    assert str(OFFLINE_GUARD) in os.environ["PYTHONPATH"].split(os.pathsep)


def test_reproducible_settings_put_the_guard_on_the_path_once(monkeypatch):
    import os

    monkeypatch.setenv("PYTHONPATH", "elsewhere")
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    use_reproducible_settings()
    use_reproducible_settings()
    assert os.environ["PYTHONPATH"] == os.pathsep.join((str(OFFLINE_GUARD), "elsewhere"))
    assert os.environ["OMP_NUM_THREADS"] == "1"


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("", False), ("0", False), ("1", True), ("yes", True)]
)
def test_quick_mode_reads_its_environment_variable(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(QUICK_MODE_ENV, raising=False)
    else:
        monkeypatch.setenv(QUICK_MODE_ENV, value)
    assert quick_mode() is expected


def test_quick_mode_refuses_a_value_it_cannot_read(monkeypatch):
    monkeypatch.setenv(QUICK_MODE_ENV, "fast")
    with pytest.raises(ValueError, match=QUICK_MODE_ENV):
        quick_mode()
