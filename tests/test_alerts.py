"""Alerts with context, delivered to receivers the tests start; new regressions only."""

import pytest
from factories import judge
from receivers import smtp_server, webhook
from test_compare import FINGERPRINT, _nights

from segtasks import store
from segtasks.alerts import message, send
from segtasks.store import repository

USUAL = [10.0, 10.1, 9.9, 10.05, 9.95, 10.0, 10.1]


def _regressed_night(engine):
    """Seven ordinary nights, then one 12% slower with a newer torch; judged."""
    runs = _nights(engine, USUAL)
    newer = {**FINGERPRINT, "software": {**FINGERPRINT["software"], "torch": "2.16.0"}}
    runs += _nights(engine, [8.8], first=len(USUAL), environment=newer)
    judge(engine, runs[-1])
    return runs


def test_the_webhook_gets_the_regressions_with_effect_z_mde_software_and_report(db_url):
    engine = store.connect(db_url)
    runs = _regressed_night(engine)
    alert = message.from_store(engine, runs[-1])
    with webhook() as (url, received):
        send.send(url, alert)
    [post] = received
    assert post["path"] == "/hooks/segbench" and post["content_type"] == "application/json"
    body = post["body"]
    assert body["run_pk"] == runs[-1] and body["report"].endswith(f"run-{runs[-1]}/report.html")
    [regression] = [r for r in body["regressions"] if r["metric"] == "images_per_s"]
    assert regression["effect"] == pytest.approx(8.8 / 10.0 - 1)
    assert regression["z"] > 3 and 0.05 <= regression["mde"] < 0.12
    assert "torch 2.15.0 -> 2.16.0" in regression["software_changes"]
    assert regression["began_run_pk"] == runs[-1]
    # the text a person reads says the same
    assert "cpu-bs1-fp32 images_per_s: -12.0%" in body["text"]
    assert "this series sees changes of" in body["text"]
    assert "software changes since the baseline: torch 2.15.0 -> 2.16.0" in body["text"]


def test_the_other_cases_are_named_with_what_their_series_can_see(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [*USUAL, 10.02])
    [speed] = [v for v in judge(engine, runs[-1]) if v.metric == "images_per_s"]
    alert = message.from_store(engine, runs[-1])
    assert alert.payload["regressions"] == []
    assert (f"- cpu-bs1-fp32: unchanged (this series sees changes of {speed.mde:.1%} or more)"
            in alert.text)


def test_the_mail_names_the_cases_in_its_subject_and_the_context_in_its_body(db_url):
    engine = store.connect(db_url)
    runs = _regressed_night(engine)
    alert = message.from_store(engine, runs[-1])
    with smtp_server() as (port, mails):
        send.send(f"smtp://127.0.0.1:{port}?to=perf@example.com,oncall@example.com"
                  "&from=segbench@example.com", alert)
    [(sender, recipients, mail)] = mails
    assert sender == "segbench@example.com"
    assert recipients == ["perf@example.com", "oncall@example.com"]
    assert mail["Subject"].startswith("segbench: 1 regression in run")
    assert "cpu-bs1-fp32" in mail["Subject"]
    assert "torch 2.15.0 -> 2.16.0" in mail.get_payload(decode=True).decode()


def test_a_connection_uri_gives_back_the_webhook_path_airflow_encoded():
    assert send.target_from_connection("https://hooks.example.com:8443/hooks%2Fsegbench") == \
        "https://hooks.example.com:8443/hooks/segbench"
    mail = "smtp://mail:25/?to=a%40b.c"
    assert send.target_from_connection(mail) == mail


def test_an_unreachable_or_unknown_target_says_where_in_one_line():
    alert = message.Alert("s", "t", {"text": "t"})
    with pytest.raises(send.AlertError, match=r"webhook http://127\.0\.0\.1:1 failed"):
        send.send("http://127.0.0.1:1/hook", alert)
    with pytest.raises(send.AlertError, match="names no recipient"):
        send.send("smtp://127.0.0.1:1", alert)
    with pytest.raises(send.AlertError, match="unknown alert target 'ftp'"):
        send.send("ftp://example.com", alert)


def test_an_ongoing_regression_is_reported_every_night_but_alerted_once(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [*USUAL, 8.0, 8.05])
    first = {v.metric: v for v in judge(engine, runs[-2])}["images_per_s"]
    assert (first.verdict, first.alerted) == ("regression", True)
    second = {v.metric: v for v in judge(engine, runs[-1])}["images_per_s"]
    assert (second.verdict, second.alerted) == ("regression", False)
    stored = message.from_store(engine, runs[-1])
    assert stored.payload["regressions"] == []
    assert [c.alerted for c in repository.run_comparisons(engine, runs[-1])
            if c.metric == "images_per_s"] == [False]
