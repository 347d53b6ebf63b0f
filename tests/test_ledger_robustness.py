"""A record torn by a writer that died mid-write costs that record only: the next record starts on a
line of its own, and reading skips the torn line (naming it, unless it is the last)."""

import warnings

import pytest

from genarch.ledger import LEDGER_FILE, append_record, iter_records, load_trials


def _torn(tmp_path, tail: bytes) -> None:
    append_record(tmp_path, {"job": 0, "event": "start", "status": "running", "params": {"x": 0}})
    with open(tmp_path / LEDGER_FILE, "ab") as handle:
        handle.write(tail)


def test_a_record_appended_after_a_torn_line_is_kept_and_the_torn_line_skipped_with_a_warning(tmp_path):
    _torn(tmp_path, b'{"job": 0, "event": "end", "sta')  # the writer died mid-record
    assert [r["job"] for r in iter_records(tmp_path)] == [0]  # torn last line: skipped silently
    append_record(tmp_path, {"job": 0, "event": "start", "status": "running", "params": {"x": 0}})
    append_record(tmp_path, {"job": 0, "event": "end", "status": "ok", "params": {"x": 0},
                             "objective": {"name": "m", "direction": "maximize", "value": 0.5}})
    append_record(tmp_path, {"job": 1, "event": "start", "status": "running", "params": {"x": 1}})
    lines = (tmp_path / LEDGER_FILE).read_text().splitlines()
    assert lines[1] == '{"job": 0, "event": "end", "sta' and len(lines) == 5  # the torn line was ended, not glued
    with pytest.warns(UserWarning, match=r"ledger.jsonl:2: skipped a line that is not a ledger record"):
        trials = load_trials(tmp_path)
    assert [(t.job, t.status, t.value) for t in trials] == [(0, "ok", 0.5), (1, "running", None)]


@pytest.mark.parametrize("line, why", [
    (b"garbage\n", "Expecting value"),
    (b'{"event": "end"}\n', "no job number"),
    (b"[1, 2]\n", "not a JSON object"),
    # whole JSON objects with a field of the wrong kind: before, load_trials raised on them (int('x'),
    # float('abc'), dict([...]), 'str'.get) and the analysis and a resume stopped with no file or line
    (b'{"job": "x", "event": "end", "status": "ok"}\n', "job 'x' \\(not a job number\\)"),
    (b'{"job": true, "event": "end"}\n', "job True"),
    (b'{"job": -1, "event": "end"}\n', "job -1"),
    (b'{"job": 0, "event": "end", "status": "ok", "objective": {"value": "abc"}}\n', "objective value 'abc'"),
    (b'{"job": 0, "event": "end", "status": "ok", "objective": "0.9"}\n', "objective '0.9' \\(not a mapping\\)"),
    (b'{"job": 0, "event": "start", "params": [["x", 1]]}\n', "params \\[\\['x', 1\\]\\]"),
    (b'{"job": 0, "event": "end", "metrics": 3}\n', "metrics 3"),
    (b'{"job": 0, "event": "end", "status": 1}\n', "status 1 \\(not a string\\)"),
])
def test_a_bad_line_inside_the_ledger_is_named_and_the_rest_read(tmp_path, line, why):
    _torn(tmp_path, line)
    append_record(tmp_path, {"job": 1, "event": "start", "status": "running", "params": {"x": 1}})
    with pytest.warns(UserWarning, match=rf"ledger.jsonl:2: .*{why}"):
        assert [r["job"] for r in iter_records(tmp_path)] == [0, 1]


def test_an_intact_ledger_reads_without_warnings(tmp_path):
    for job in range(3):
        append_record(tmp_path, {"job": job, "event": "start", "status": "running", "params": {}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["job"] for r in iter_records(tmp_path)] == [0, 1, 2]


@pytest.mark.parametrize("bad", [
    b'{"job": "x", "event": "end", "status": "ok"}',
    b'{"job": 0, "event": "end", "status": "ok", "objective": {"name": "m", "direction": "maximize", "value": "abc"}}',
    b'{"job": 0, "event": "end", "status": "ok", "objective": "0.9"}',
])
def test_a_record_with_a_bad_field_is_skipped_and_every_other_trial_kept(tmp_path, bad):
    append_record(tmp_path, {"job": 0, "event": "start", "status": "running", "params": {"x": 0}})
    with open(tmp_path / LEDGER_FILE, "ab") as handle:
        handle.write(bad + b"\n")
    append_record(tmp_path, {"job": 1, "event": "start", "status": "running", "params": {"x": 1}})
    append_record(tmp_path, {"job": 1, "event": "end", "status": "ok", "params": {"x": 1},
                             "objective": {"name": "m", "direction": "maximize", "value": 0.7}})
    with pytest.warns(UserWarning, match=r"ledger.jsonl:2: skipped a ledger record with"):
        trials = load_trials(tmp_path)
    # the bad end record is not applied: job 0 stays in flight (a resumed sweep runs it again)
    assert [(t.job, t.status, t.value) for t in trials] == [(0, "running", None), (1, "ok", 0.7)]
