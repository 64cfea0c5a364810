"""The results pages: a FastAPI app mounted in Airflow's api-server by the plugin in
plugins/segbench_plugin.py, and served alone by `segbench serve`.

Pages and the JSON API read the results database through a read-only engine; the two
curation actions (exclude a night, accept a new baseline level) use the writer's. Who
may see and do what is decided by an `Access` (Airflow's security dependencies inside
Airflow, the local rules of `segbench serve` outside it).
"""
