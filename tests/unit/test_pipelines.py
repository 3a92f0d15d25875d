"""The example pipelines (docs/pipelines/) against the official schemas of GitHub Actions
workflows and GitLab CI, as check-jsonschema vendors them (no network needed)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
PIPELINES = [("github-actions.yml", "vendor.github-workflows"), ("gitlab-ci.yml", "vendor.gitlab-ci")]


def check(path, schema):
    return subprocess.run([CHECK, "--builtin-schema", schema, str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=False)


@pytest.mark.parametrize("name,schema", PIPELINES)
def test_the_example_pipeline_matches_its_official_schema(name, schema):
    done = check(os.path.join(ROOT, "docs", "pipelines", name), schema)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("name,schema,breakage", [
    ("github-actions.yml", "vendor.github-workflows", ("runs-on: ubuntu-latest", "runs_on: ubuntu-latest")),
    ("gitlab-ci.yml", "vendor.gitlab-ci", ("when: always", "when: sometimes")),
])
def test_the_schema_check_rejects_a_broken_pipeline(tmp_path, name, schema, breakage):
    broken = tmp_path / name
    shutil.copy(os.path.join(ROOT, "docs", "pipelines", name), broken)
    text = broken.read_text()
    assert breakage[0] in text
    broken.write_text(text.replace(breakage[0], breakage[1], 1))
    assert check(broken, schema).returncode != 0
