"""bench.logs: agreement of events with a loghub-style ground truth, on tiny hand-made cases
in a temporary directory."""

import pandas as pd

from bench import logs

SYSLOG_LINES = (
    "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure\n"
    + "".join(f"Jun 14 15:16:{k:02} combo sshd[19937]: check pass\n" for k in range(2, 11))
    + "not a syslog line\n"
)
TRUTH = (
    "LineId,Month,Date,Time,Component,Content\n"
    "1,Jun,14,15:16:01,sshd(pam_unix),authentication failure\n"
    "2,Jun,14,15:16:59,sshd,check pass\n"
    + "".join(f"{k},Jun,14,15:16:{k:02},sshd,check pass\n" for k in range(3, 11))
    + "11,Jun,14,15:16:11,x,not a syslog line\n"
)
SYSTEM = logs.System(
    "Tiny",
    logs._time("Month Date Time", "%b %d %H:%M:%S"),
    year=False,
    service=logs._column("Component"),
)


def write(root, name, log, truth):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"{name}_2k.log").write_text(log)
    (folder / f"{name}_2k.log_structured.csv").write_text(truth)


def test_agreement_per_line_and_a_line_without_an_event_disagrees(tmp_path):
    write(tmp_path, "Tiny", SYSLOG_LINES, TRUTH)
    result = logs.read_system(tmp_path, SYSTEM)
    assert (result.format, result.lines, result.kept, result.quarantined) == ("syslog", 11, 10, 1)
    # line 2's second differs from the truth; line 11 was quarantined
    assert (result.ts, result.level, result.service, result.good) == (9, None, 10, 9)
    assert not result.met
    assert any("quarantined 1: format_mismatch 1" in note for note in result.notes)
    assert any("no year" in note for note in result.notes)


def test_levels_of_the_ground_truth_are_folded_as_logcast_folds_them():
    truth = pd.Series(["D", "warn", "notice", "Info", "SEVERE", "E"])
    assert logs.levels(truth).tolist() == ["DEBUG", "WARNING", "INFO", "INFO", "ERROR", "ERROR"]


def test_a_year_is_compared_only_when_the_log_has_one():
    truth = pd.DataFrame({"LineId": ["1"], "Date": ["2015-10-18"], "Time": ["18:04:11,034"]})
    events = pd.DataFrame(
        {
            "line_number": [1],
            "ts": [pd.Timestamp("2016-10-18 18:04:11.034", tz="UTC")],
            "level": ["INFO"],
            "service": ["a"],
        }
    )
    dated = logs.System("X", logs._time("Date Time", "%Y-%m-%d %H:%M:%S,%f"))
    assert not logs.agreement(truth, events, dated)[0].iloc[0]
    yearless = logs.System("X", logs._time("Date Time", "%Y-%m-%d %H:%M:%S,%f"), year=False)
    assert logs.agreement(truth, events, yearless)[0].iloc[0]


def test_the_table_prints_n_a_where_the_truth_has_no_level_and_flags_short_systems(capsys):
    short = logs.SystemResult("A", "syslog", 100, kept=98, quarantined=2, ts=98, good=98)
    short.notes.append("why")
    fine = logs.SystemResult("B", "log4j", 100, kept=100, ts=100, level=100, good=100)
    fine.extra["templates"] = "0.95"
    assert not logs.report([short, fine])
    out = capsys.readouterr().out
    assert "n/a" in out and "below target" in out and "A: why" in out and "templates" in out


def test_an_absent_corpus_exits_2_with_a_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))
    assert logs.main([]) == 2
    assert "no corpus at" in capsys.readouterr().err


def test_template_grouping_mines_the_events_read_and_a_line_without_one_is_wrong():
    truth = pd.DataFrame(
        {
            "LineId": ["1", "2", "3", "4", "5"],
            "EventId": ["E1", "E1", "E2", "E2", "E3"],
        }
    )
    events = pd.DataFrame(
        {
            "line_number": [1, 2, 3, 4],
            "service": ["app", "app", None, None],
            "level": ["INFO", "INFO", "ERROR", "ERROR"],
            "message": [
                "payment failed for order 12",
                "payment failed for order 7",
                "disk full on /dev/sda1",
                "disk full on /dev/sdb2",
            ],
        }
    )
    ga, loss = logs.template_grouping(truth, events)
    # E1 and E2 grouped exactly (events without a service are mined as 'unknown'); line 5
    # has no event, so its one-line group E3 is not counted right
    assert ga == 4 / 5
    assert loss == "E3 (1 lines) 1 without a template; 1 lines wrong"


def test_grouping_columns_sit_beside_drains_published_figure_with_why_where_lower():
    low = logs.SystemResult("Windows", "pattern", 10, kept=10, ts=10, level=10, good=10)
    logs.add_grouping(low, 0.5, "E36 (6 lines) merged with 1 other true group; 6 lines wrong")
    assert low.extra == {"GA": "0.500", "Drain GA": "0.997", "diff": "-0.497"}
    (note,) = low.notes
    assert note.startswith("templates: GA 0.500, below Drain's published 0.997: messages that")
    assert note.endswith(
        "biggest loss: E36 (6 lines) merged with 1 other true group; 6 lines wrong"
    )
    same = logs.SystemResult("HDFS", "log4j", 10)
    logs.add_grouping(same, 0.9981, "-")
    assert same.extra["diff"] == "+0.000" and not same.notes
    other = logs.SystemResult("Tiny", "syslog", 10)
    logs.add_grouping(other, 0.5, "-")
    assert other.extra == {"GA": "0.500", "Drain GA": "-", "diff": "-"} and not other.notes
