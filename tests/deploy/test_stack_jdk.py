"""JDK selection from ``release`` files (no real Java needed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from deploy.stack.jdk import JavaNotFoundError, find_jdk, installed_jdks, parse_major, read_release


def fake_jdk(root: Path, folder: str, java_version: str, *, executable: bool = True) -> Path:
    home = root / folder
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755 if executable else 0o644)
    (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{java_version}"\nOS_NAME="Linux"\n')
    return home


@pytest.mark.parametrize(
    ("version", "major"),
    [("17.0.15", 17), ("25.0.3", 25), ("21", 21), ("1.8.0_402", 8), ("nonsense", None)],
)
def test_parse_major_reads_modern_and_legacy_version_strings(version: str, major: int | None) -> None:
    assert parse_major(version) == major


def test_read_release_returns_none_without_release_file(tmp_path: Path) -> None:
    assert read_release(tmp_path) is None


def test_find_jdk_picks_a_jdk_new_enough_for_elasticsearch(tmp_path: Path) -> None:
    fake_jdk(tmp_path, "java-17-openjdk", "17.0.15")
    newest = fake_jdk(tmp_path, "some-vendor-jdk", "25.0.3")
    fake_jdk(tmp_path, "another-21", "21.0.4")
    jdk = find_jdk(21, roots=(tmp_path,), prefer_default=False)
    assert (jdk.home, jdk.major) == (newest, 25)


def test_find_jdk_prefers_the_default_java_when_new_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = fake_jdk(tmp_path / "elsewhere", "my-17", "17.0.2")
    fake_jdk(tmp_path / "roots", "jdk-25", "25")
    monkeypatch.setenv("JAVA_HOME", str(default))
    assert find_jdk(17, roots=(tmp_path / "roots",)).home == default
    assert find_jdk(21, roots=(tmp_path / "roots",)).major == 25


def test_find_jdk_explains_what_it_found_when_nothing_fits(tmp_path: Path) -> None:
    fake_jdk(tmp_path, "old", "17.0.15")
    with pytest.raises(JavaNotFoundError, match=r"Java 21\+.*old \(Java 17\)"):
        find_jdk(21, roots=(tmp_path,), prefer_default=False)


def test_installed_jdks_skips_folders_without_executable_java_and_dedups_symlinks(tmp_path: Path) -> None:
    real = fake_jdk(tmp_path, "jdk-25", "25")
    (tmp_path / "default-java").symlink_to(real)
    fake_jdk(tmp_path, "broken", "21", executable=False)
    (tmp_path / "not-a-jdk").mkdir()
    found = installed_jdks((tmp_path,))
    assert [j.major for j in found] == [25]
