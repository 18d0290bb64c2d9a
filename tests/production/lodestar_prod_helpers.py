"""Talking to a running production profile: its GraphQL API, its PostgreSQL, its process groups."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

SCALE = "0.02"
REPO = {"repositoryLocationName": "lodestar", "repositoryName": "__repository__"}
SENSOR_DOCUMENT = "DOC01.pdf"  # the one inbox file the sensor test leaves in place (a text-layer PDF)


@dataclass
class Profile:
    root: Path
    home: Path
    env: dict[str, str] = field(repr=False)  # what the servers were started with; holds the password
    dagster_url: str = ""
    mlflow_url: str = ""

    @property
    def pids(self) -> dict[str, int]:
        return {p.stem: int(p.read_text()) for p in (self.root / "profile" / "run").glob("*.pid")}

    def log(self, name: str) -> str:
        path = self.root / "profile" / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def gql(self, query: str, **variables: object) -> dict:
        r = requests.post(f"{self.dagster_url}/graphql", json={"query": query, "variables": variables}, timeout=120)
        r.raise_for_status()
        body = r.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def launch_assets(self, *paths: str, tags: dict[str, str] | None = None) -> str:
        """Submit a run of these assets to the webserver; the daemon's run queue launches it."""
        params = {
            "selector": {**REPO, "jobName": "__ASSET_JOB", "assetSelection": [{"path": p.split("/")} for p in paths]},
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
        }
        out = self.gql(LAUNCH_RUN, p=params)["launchRun"]
        assert out["__typename"] == "LaunchRunSuccess", out
        return out["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.gql(RUN, id=run_id)["runOrError"]

    @staticmethod
    def errors(run: dict) -> list[str]:
        """The failure messages of a run, for assertion output."""
        def text(err: dict | None) -> str:  # an error and its causes (Dagster wraps the op's exception)
            return f"{err['message']} {text(err.get('cause'))}" if err else ""

        return [f"{e.get('stepKey')}: {e['message']} {text(e.get('error'))}"[-1500:]
                for e in run["eventConnection"]["events"]
                if e["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent")]

    def wait_run(self, run_id: str, timeout: float = 420) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return run
            time.sleep(2)
        raise AssertionError(f"run {run_id} not finished after {timeout}s: {self.run(run_id)['status']}\n"
                             f"{self.log('daemon')}")

    def psql(self, database: str, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.env["LODESTAR_PROD_PG_PORT"], user="lodestar",
                                password=self.env["LODESTAR_PG_PASSWORD"], dbname=database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()


LAUNCH_RUN = """
mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename
  ... on LaunchRunSuccess { run { runId } }
  ... on PythonError { message stack }
  ... on InvalidSubsetError { message }
  ... on RunConfigValidationInvalid { errors { message } }
} }"""

RUN = """
query($id: ID!) { runOrError(runId: $id) { ... on Run {
  runId status jobName startTime endTime tags { key value }
  eventConnection(afterCursor: null) { events {
    __typename ... on MessageEvent { timestamp stepKey message }
    ... on ExecutionStepFailureEvent { error { message cause { message } } }
  } }
} } }"""


