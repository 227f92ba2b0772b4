"""The fleet's typed rows share what every row holds alike (the set of fields given, equal float
values) to stay small while the engine keeps recent results; sharing must change no answer: the
rows equal plainly validated ones, a bad value is still refused, and copying one row with an update
leaves the others as they were."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dcops.actions.ops.fleet import _typed_rows
from dcops.actions.result_models import FleetRow


def row(i: int, **over) -> dict:  # noqa: ANN003
    base = {
        "node": f"gpu{i:05d}",
        "partitions": ["gpu"],
        "state": "idle",
        "flags": [],
        "reason": "",
        "jobs": 0,
        "k8s": "",
        "operators": "",
        "gpu_util": 50.5,
        "gpu_temp": None,
        "xid": 0,
        "ib_errors": None,
        "util_history": [1.0, 2.0],
        "temp_history": [],
    }
    return {**base, **over}


def test_shared_rows_equal_plainly_validated_rows_and_copies_stay_apart() -> None:
    dicts = [row(i) for i in range(5)] + [{k: v for k, v in row(9).items() if k != "temp_history"}]
    rows = _typed_rows(dicts)
    assert rows == [FleetRow(**d) for d in dicts]
    assert [r.model_fields_set for r in rows] == [FleetRow(**d).model_fields_set for d in dicts]
    assert rows[0].model_fields_set is rows[1].model_fields_set  # shared ...
    assert "temp_history" not in rows[5].model_fields_set  # ... only where it is the same set
    copy = rows[0].model_copy(update={"xid": 79})
    assert copy.xid == 79 and rows[1].xid == 0
    assert rows[1].model_fields_set == set(FleetRow.model_fields)
    assert rows[0].model_dump(exclude_unset=True) == FleetRow(**dicts[0]).model_dump(exclude_unset=True)
    with pytest.raises(ValidationError):
        _typed_rows([row(1, jobs="many")])
    with pytest.raises(ValidationError):  # frozen: nothing can add to the shared set
        rows[0].xid = 3  # type: ignore[misc]
