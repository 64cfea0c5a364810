"""segbench's library: the real work behind the DAG and the `segbench` command.

Nothing here imports Airflow, and nothing imports torch at package import time,
so that DAG parsing stays cheap.
"""

__version__ = "0.1.0"
