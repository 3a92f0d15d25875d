"""The changelog is antsibull-changelog's: fragments in changelogs/fragments/, the history in
changelogs/changelog.yaml, and CHANGELOG.md generated from it (make changelog), never by hand."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANTSIBULL_CHANGELOG = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")


def antsibull_changelog(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([ANTSIBULL_CHANGELOG, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=False)


def test_every_fragment_and_the_changelog_pass_antsibull_changelog_lint():
    fragments = antsibull_changelog("lint")
    assert fragments.returncode == 0 and not fragments.stdout.strip(), fragments.stdout
    history = antsibull_changelog("lint-changelog-yaml", os.path.join("changelogs", "changelog.yaml"))
    assert history.returncode == 0 and not history.stdout.strip(), history.stdout


def test_changelog_md_is_what_antsibull_changelog_generates(tmp_path):
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), tmp_path)
    os.mkdir(tmp_path / "changelogs")
    for name in ("config.yaml", "changelog.yaml"):
        shutil.copy(os.path.join(ROOT, "changelogs", name), tmp_path / "changelogs")
    result = antsibull_changelog("generate", "--output", str(tmp_path / "CHANGELOG.md"), "--output-format", "md",
                                 cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as committed:
        assert committed.read() == (tmp_path / "CHANGELOG.md").read_text(encoding="utf-8"), \
            "CHANGELOG.md differs from changelogs/changelog.yaml: add a fragment and run make changelog"
