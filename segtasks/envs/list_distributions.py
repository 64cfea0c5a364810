"""Run by another environment's interpreter (`python -I list_distributions.py`): prints its
Python version and installed distributions as JSON. Standard library only, and old syntax,
since that interpreter may be any Python 3 with nothing else installed."""

import importlib.metadata
import json
import platform
import re


def source_of(dist):
    """Where a distribution came from when not from the registry: direct_url.json (PEP 610),
    written by pip and uv for installs from a URL, a local file or folder, or a VCS."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    info = json.loads(text)
    url = info.get("url")
    vcs = info.get("vcs_info")
    if url and vcs:
        subdirectory = info.get("subdirectory")
        return "{}+{}@{}{}".format(vcs["vcs"], url, vcs["commit_id"],
                                   "#subdirectory=" + subdirectory if subdirectory else "")
    return url


def main():
    packages = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:  # a broken dist-info folder: not an installed distribution
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in packages:  # found twice on sys.path: the first one is what imports
            continue
        packages[key] = {"name": key, "version": dist.version, "source": source_of(dist)}
    print(json.dumps({"python_version": platform.python_version(),
                      "packages": sorted(packages.values(), key=lambda p: p["name"])}))


main()
