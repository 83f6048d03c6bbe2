"""Runs mobster's CLI with the parent-image SBOM download replaced by a local file.

Usage: python mobster_offline.py PARENT_SBOM|- MOBSTER ARGS...

mobster fetches a parent image's SBOM from a registry with cosign; these tests have no registry.
The module that runs the contextual workflow imports the download function by name, so rebinding
that attribute is what the workflow calls. Each call returns a fresh dict (mobster edits it).
"""
import asyncio
import json
import sys

import mobster.cmd.generate.oci_image as oci_image
import mobster.main

parent_path = sys.argv[1]
calls = []


async def download_parent_image_sbom(image, arch, *args, **kwargs):
    calls.append(getattr(image, "reference", str(image)))
    if parent_path == "-":
        return None
    with open(parent_path, encoding="utf-8") as f:
        return json.load(f)


oci_image.download_parent_image_sbom = download_parent_image_sbom
sys.argv = ["mobster"] + sys.argv[2:]
try:
    result = mobster.main.main()
    if asyncio.iscoroutine(result):
        asyncio.run(result)
finally:
    print(f"parent SBOM requests: {calls}", file=sys.stderr)
