"""`dcops help ACTION --json` prints the schema of the action's result rows, and what `--json`
sends for a real run of that action satisfies it (issue 17: a schema for `--json`)."""

from __future__ import annotations

import json

import jsonschema

from .test_cli import dcops, env  # noqa: F401  (env is a fixture)


def test_help_json_schema_describes_what_run_json_sends(env) -> None:
    h = json.loads(dcops(env, "--demo", "help", "jobs", "--json").stdout)
    schema = h["rows"]
    item = schema["$defs"]["JobRow"]
    assert item["properties"]["nodelist"]["type"] == "array"  # a list of names, not "a,b,c"
    assert item["properties"]["node_count"]["type"] == "integer"
    p = dcops(env, "--demo", "--json", "run", "jobs", "--state", "RUNNING")
    assert p.returncode == 0, p.stderr
    result = next(e for e in map(json.loads, p.stdout.splitlines()) if e["kind"] == "result")
    assert result["rows"] and len(result["rows"]) == len(result["table"]["rows"])
    jsonschema.validate(result["rows"], schema)
    with_bad = [{**result["rows"][0], "nodelist": ",".join(result["rows"][0]["nodelist"])}]
    try:
        jsonschema.validate(with_bad, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the schema accepted a comma-joined node list")


def test_help_json_names_every_shape_an_action_answers_in(env) -> None:
    h = json.loads(dcops(env, "--demo", "help", "cancel", "--json").stdout)
    assert {"JobStateRow", "JobPlanRow"} <= set(h["rows"]["$defs"])  # the run's and the dry run's rows
    assert len(h["rows"]["items"]["anyOf"]) == 2
