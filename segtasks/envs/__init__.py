"""Python environments as recorded locks: what a night ran in, and a way to build it again.

A lock (`lock.Lock`) is the interpreter's version and every installed distribution with its
version (and source where it is not the registry); `snapshot` records the running one,
`build` makes one into a virtual environment under var/envs with uv, `diff` says what
differs between two. Standard library only at import time: the Makefile runs
`python -m segtasks.envs.uv` before the project's dependencies are installed.
"""
