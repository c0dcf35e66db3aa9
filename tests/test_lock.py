"""constraints.txt (the lock) stays in step with pyproject.toml and is what
the installs use."""
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(p) == 2 for p in pairs), "only exact pins (name==version)"
    return {canonicalize_name(name): version for name, version in pairs}


def test_every_dependency_and_test_tool_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    for line in project["dependencies"] + project["optional-dependencies"]["test"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in constraints.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}: run `make lock`")
    assert "rasd" not in pins


def test_the_pinned_versions_are_the_installed_ones():
    # the tests run on exactly what setup installs
    from importlib import metadata

    for name, version in _pins().items():
        assert metadata.version(name) == version, f"{name}: installed {metadata.version(name)}, locked {version}"


def test_setup_and_the_image_install_from_the_lock():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "pip install -q -c constraints.txt -e '.[test]'" in setup
    assert "constraints.txt -nt" in setup  # a changed lock reinstalls
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "constraints.txt" in dockerfile.split("RUN pip install")[0] and "pip install -c constraints.txt ." in dockerfile
