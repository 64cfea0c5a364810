-- Run once by the postgres image on first start: Airflow's metadata DB and the results DB
-- are separate databases (tasks never touch Airflow's).
CREATE DATABASE airflow;
CREATE DATABASE segbench;
