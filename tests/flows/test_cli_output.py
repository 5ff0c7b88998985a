"""What `logcast ingest` prints about each file and when it exits 1 (flows.cli, without a run)."""

from flows.cli import _kept_nothing, _print_files

FILES = {
    "ingested": 2,
    "skipped": 1,
    "rejected": 1,
    "records_read": 62,
    "rows_kept": 10,
    "rows_quarantined": 52,
    "rejected_files": [{"path": "/l/x.bin", "reason": "file is empty"}],
    "read": [
        {"path": "/l/a.log", "format": "combined (detected)", "records_read": 10,
         "rows_kept": 10, "rows_quarantined": 0},
        {"path": "/l/b.log", "format": "combined", "records_read": 51, "rows_kept": 0,
         "rows_quarantined": 51},
        {"path": "/l/x.bin", "format": "auto", "records_read": 1, "rows_kept": 0,
         "rows_quarantined": 1},
    ],
}  # fmt: skip


def test_each_file_is_listed_with_its_format_and_counts(capsys):
    _print_files(FILES, per_file=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "files: 2 ingested, 1 unchanged, 1 rejected; records read 62 = kept 10 + quarantined 52"
    )
    assert "  /l/a.log: combined (detected), read 10 = kept 10 + quarantined 0" in out
    assert "  /l/b.log: combined, read 51 = kept 0 + quarantined 51" in out
    assert "  rejected /l/x.bin: file is empty" in out


def test_long_runs_list_the_first_files_and_count_the_rest(capsys):
    many = dict(FILES, read=[dict(FILES["read"][0], path=f"/l/{i}.log") for i in range(25)])
    _print_files(many, per_file=True)
    out = capsys.readouterr().out
    assert "/l/19.log" in out and "/l/20.log" not in out and "... and 5 more files" in out


def test_files_rejected_whole_or_keeping_nothing_are_the_ones_that_fail_the_run():
    assert _kept_nothing(FILES) == ["/l/x.bin", "/l/b.log"]
    assert _kept_nothing(dict(FILES, rejected_files=[], read=FILES["read"][:1])) == []
