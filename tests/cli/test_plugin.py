"""A provider package outside aigw (tests/plugin_example) serves `aigw generate -m itsmodel`.

The package is made discoverable the way an installer does, without running one (offline, and in
well under a second): its source is copied into a temporary directory beside a
`aigw_itsprov-0.1.0.dist-info` holding METADATA and the entry_points.txt that pip would write from
its pyproject.toml. That directory goes on PYTHONPATH of an `aigw` subprocess, so
importlib.metadata finds the entry point exactly as it finds an installed distribution's.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import FakeServer, RecordedRequest, Response
from tests.helpers import db_rows

EXAMPLE = Path(__file__).parents[1] / "plugin_example"
README = Path(__file__).parents[2] / "README.md"


def entry_points_txt() -> str:
    """[project.entry-points."aigw.providers"] of the example's pyproject.toml, as pip writes it."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    lines = ["[aigw.providers]", *(f"{k} = {v}" for k, v in project["entry-points"]["aigw.providers"].items())]
    return "\n".join(lines) + "\n"


def site(tmp_path: Path, extra_entry_points: str = "") -> dict[str, str]:
    root = tmp_path / "site"
    shutil.copytree(EXAMPLE / "aigw_itsprov", root / "aigw_itsprov")
    info = root / "aigw_itsprov-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aigw-itsprov\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points_txt() + extra_entry_points)
    return {"PYTHONPATH": str(root)}


def readme_package() -> dict[str, str]:
    """README "Writing a provider package": each code block whose first line is `# FILE...`, by FILE."""
    section = README.read_text().split("## Writing a provider package", 1)[1].split("\n## ", 1)[0]
    files = {}
    for block in re.findall(r"```(?:python|toml)\n(.*?)```", section, re.S):
        first, _, rest = block.partition("\n")
        files[first.removeprefix("# ").split(" ", 1)[0]] = rest
    return files


def readme_site(tmp_path: Path) -> dict[str, str]:
    """The package exactly as README prints it, made discoverable as `site` does for the example."""
    files = readme_package()
    root = tmp_path / "readme-site"
    for name in ("aigw_itsprov/__init__.py", "aigw_itsprov/provider.py", "aigw_itsprov/catalog.toml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(files[name])
    info = root / "aigw_itsprov-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aigw-itsprov\nVersion: 0.1.0\n")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    group = tomllib.loads(files["pyproject.toml"])["project"]["entry-points"]["aigw.providers"]
    (info / "entry_points.txt").write_text("[aigw.providers]\n" + "".join(f"{k} = {v}\n" for k, v in group.items()))
    return {"PYTHONPATH": str(root)}


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 90)).save(out, "PNG")
    return out.getvalue()


class FakeItsProv(FakeServer):
    def route(self, req: RecordedRequest) -> Response:
        if req.path != "/v1/images" or req.method != "POST":
            return Response.json({"error": "not found"}, 404)
        if req.headers.get("authorization") != "Bearer its-key":
            return Response.json({"error": "bad key"}, 401)
        return Response.json({"image": base64.b64encode(png((512, 512))).decode()})


@pytest.fixture
def fake():
    with FakeItsProv() as server:
        yield server
    assert not server.errors, server.errors


def test_a_plugin_provider_serves_its_model_end_to_end(cli, fake, tmp_path, config_file, cache_dir):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text('[providers.itsprov]\nflavour = "mint"\n')
    # The key and base URL come from the variables its description names, like OPENAI_API_KEY.
    env = {**site(tmp_path), "ITSPROV_API_KEY": "its-key", "ITSPROV_BASE_URL": fake.url}
    r = cli.subprocess("generate", "a lighthouse", "-m", "itsmodel", "--json", env=env)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["model"], data["provider"], data["provider_model"]) == ("itsmodel", "itsprov", "its-model-v1")
    assert data["cost_usd"] == pytest.approx(0.002)  # the price its catalog file gives
    assert fake.last_request.json == {"model": "its-model-v1", "prompt": "a lighthouse", "size": "512x512",
                                      "flavour": "mint"}
    path = Path(data["paths"][0])
    assert path.is_relative_to(cache_dir) and path.is_file()
    with Image.open(path) as img:
        assert img.size == (512, 512)
    runs = db_rows(cache_dir, "SELECT status, provider, model FROM runs WHERE id = ?", data["id"])
    assert [tuple(row) for row in runs] == [("ok", "itsprov", "itsmodel")]
    attempts = db_rows(cache_dir, "SELECT provider, http_status, served FROM attempts WHERE run_id = ?", data["id"])
    assert [tuple(a) for a in attempts] == [("itsprov", 200, 1)]


@pytest.mark.parametrize(("line", "named"), [
    ("flavour = 3", "invalid value for providers.itsprov.flavour"),
    ('flavour = "chocolate"', "invalid value for providers.itsprov.flavour"),
    ('flavor = "mint"', "unknown setting providers.itsprov.flavor"),
    ('scoops = "two"', "invalid value for providers.itsprov.scoops"),
])
def test_its_settings_section_is_validated_against_its_description(cli, tmp_path, config_file, line, named):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'[providers.itsprov]\napi_key = "its-key"\n{line}\n')
    r = cli.subprocess("generate", "x", "-m", "itsmodel", env=site(tmp_path))
    assert r.code == 3, r.stderr
    assert f"{config_file}:3: {named}" in r.stderr
    if "flavor" in line:
        assert "did you mean providers.itsprov.flavour" in r.stderr


def test_its_fields_belong_to_it_alone(cli, tmp_path, config_file):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text('[providers.openai]\nflavour = "mint"\n')
    r = cli.subprocess("config", "show", env=site(tmp_path))
    assert r.code == 3 and "unknown setting providers.openai.flavour" in r.stderr, r.stderr


def test_a_plugin_that_fails_to_load_is_named_and_the_rest_work(cli, fake, tmp_path):
    env = {**site(tmp_path, "broken = aigw_itsprov_missing:description\n"),
           "ITSPROV_API_KEY": "its-key", "ITSPROV_BASE_URL": fake.url}
    r = cli.subprocess("generate", "a fox", "-m", "itsmodel", env=env)
    assert r.code == 0, r.stderr
    assert "provider plugin 'broken' (aigw_itsprov_missing:description) could not be loaded" in r.stderr
    assert Path(r.stdout.strip()).is_file()


def test_without_the_plugin_its_model_is_unknown(cli):
    r = cli("generate", "x", "-m", "itsmodel")
    assert r.code == 2 and "unknown image model 'itsmodel'" in r.stderr, r.stderr


def test_the_readme_package_works_as_written(cli, fake, tmp_path):
    env = {**readme_site(tmp_path), "ITSPROV_API_KEY": "its-key", "ITSPROV_BASE_URL": fake.url}
    r = cli.subprocess("generate", "a lighthouse", "-m", "itsmodel", "--json", env=env)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["provider"] == "itsprov"
    assert fake.last_request.json["flavour"] == "plain"


def test_the_readme_package_is_the_example_package():
    files = readme_package()
    for name in ("aigw_itsprov/__init__.py", "aigw_itsprov/provider.py", "aigw_itsprov/catalog.toml"):
        assert files[name] == (EXAMPLE / name).read_text(), f"README's {name} differs from tests/plugin_example"
    assert files["pyproject.toml"].split("\n", 1)[1].strip() in (EXAMPLE / "pyproject.toml").read_text()


def test_the_example_uses_only_the_public_provider_api():
    for path in (EXAMPLE / "aigw_itsprov").glob("*.py"):
        tree = ast.parse(path.read_text())
        used = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        used |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert {m for m in used if m.split(".")[0] == "aigw"} <= {"aigw.providers.api"}, path


def test_a_bad_own_setting_from_the_environment_exits_3_naming_it(cli, tmp_path):
    env = {**site(tmp_path), "ITSPROV_API_KEY": "its-key", "AIGW_PROVIDERS__ITSPROV__SCOOPS": "lots"}
    r = cli.subprocess("generate", "x", "-m", "itsmodel", env=env)
    assert r.code == 3, r.stderr
    assert "providers.itsprov.scoops" in r.stderr and "AIGW_PROVIDERS__ITSPROV__SCOOPS" in r.stderr
