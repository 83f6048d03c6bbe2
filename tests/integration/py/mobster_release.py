"""Runs mobster's release-time SBOM augmentation (what `mobster augment` does after downloading
the SBOM with cosign) on a local SBOM, and prints the augmented SBOM.

Usage: python mobster_release.py SBOM DIGEST PUBLIC_REPO TAG...
"""
import json
import sys

from mobster.cmd.augment import update_sbom_in_situ
from mobster.image import Image
from mobster.oci.artifact import SBOM
from mobster.release import ReleaseId, ReleaseRepository

path, digest, public, tags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with open(path, encoding="utf-8") as f:
    doc = json.load(f)
repo = ReleaseRepository(public_repo_url=public, internal_repo_url=public, tags=tags)
image = Image(repository=public, digest=digest)
sbom = SBOM(doc, digest="sha256:" + "0" * 64, reference=f"{public}@{digest}")
if not update_sbom_in_situ(repo, image, sbom, cpes=[], release_id=ReleaseId.new()):
    sys.exit("mobster has no handler for this SBOM format")
json.dump(sbom.doc, sys.stdout)
