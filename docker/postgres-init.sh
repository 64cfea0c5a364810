#!/usr/bin/env bash
# Run once by the postgres image on its first start. Airflow's metadata and the benchmark's
# results live in separate databases (tasks never touch Airflow's); the benchmark writes as
# an ordinary role that owns its database, no superuser. The analysts' role is made here,
# where roles can be made; airflow-init grants it read access once the tables exist.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE DATABASE airflow;
CREATE ROLE segbench LOGIN PASSWORD '${SEGBENCH_DB_PASSWORD}';
CREATE DATABASE segbench OWNER segbench;
CREATE ROLE segbench_reader LOGIN PASSWORD '${SEGBENCH_READER_PASSWORD}';
ALTER ROLE segbench_reader SET default_transaction_read_only = on;
SQL
