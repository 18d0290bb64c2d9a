"""The production profile brought up once for this folder by the same script a user runs
(scripts/prod_up.sh), over a `--scale 0.02` demo company, and taken down by scripts/prod_down.sh."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lodestar_prod_helpers import SCALE, SENSOR_DOCUMENT, Profile
from ports import free_port

from lodestar.settings import PROJECT_ROOT


@pytest.fixture(scope="session")
def profile() -> Iterator[Profile]:
    # Under /tmp directly and traversable: as root the cluster runs as `postgres`, which cannot enter
    # pytest's 0700 temporary directories.
    root = Path(tempfile.mkdtemp(prefix="lodestar-prod-"))
    root.chmod(0o755)
    home = root / "home"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "LODESTAR_HOME": str(home),
        "LODESTAR_PG_PASSWORD": secrets.token_urlsafe(18),
        "LODESTAR_PROD_PG_PORT": str(free_port()),
        "LODESTAR_PROD_DAGSTER_PORT": str(free_port()),
        "LODESTAR_PROD_MLFLOW_PORT": str(free_port()),
        "LODESTAR_PROD_CODE_PORT": str(free_port()),
        "LODESTAR_PROD_REPORTS_CODE_PORT": str(free_port()),
        "LODESTAR_VENV_BIN": str(bin_dir),
        # The landing schedule ticks every minute here and lands one small source.
        "LODESTAR_LANDING_CRON": "* * * * *",
        "LODESTAR_LANDING_SELECTION": "group:complaints",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DAGSTER_HOME", None)
    gen = subprocess.run([str(bin_dir / "lodestar"), "generate", "--scale", SCALE], env=env, capture_output=True,
                         text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr[-3000:]
    # The inbox sensor starts one extraction run per new document: keep one in the inbox.
    later = root / "documents_later"
    later.mkdir()
    for doc in (home / "demo" / "documents").iterdir():
        if doc.name != SENSOR_DOCUMENT:
            shutil.move(str(doc), later / doc.name)
    up = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "prod_up.sh"), str(root / "profile")], env=env,
                        capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    prof = Profile(root=root, home=home, env=env,
                   dagster_url=f"http://127.0.0.1:{env['LODESTAR_PROD_DAGSTER_PORT']}",
                   mlflow_url=f"http://127.0.0.1:{env['LODESTAR_PROD_MLFLOW_PORT']}")
    try:
        assert up.returncode == 0, f"{up.stdout[-2000:]}\n{up.stderr[-3000:]}"
        yield prof
    finally:
        down = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "prod_down.sh"), str(root / "profile")],
                              env=env, capture_output=True, text=True, timeout=300)
        shutil.rmtree(root, ignore_errors=True)
        assert down.returncode == 0, down.stderr[-3000:]
