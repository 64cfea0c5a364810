"""Alerts with context: what regressed, by how much, what the series can see, what changed
in the software since its baseline, and where the report is (`message`); delivered to a
webhook or a mail server (`send`). The DAG's notifier reads its target from the Airflow
connection `segbench_alerts`; nothing here imports Airflow."""
