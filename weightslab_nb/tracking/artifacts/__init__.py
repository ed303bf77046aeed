"""Artifacts, local and offline: versioned sets of files with lineage (wandb's artifact API).

* :mod:`~weightslab_nb.tracking.artifacts.manifest`: entries, sha256 digests, name rules.
* :mod:`~weightslab_nb.tracking.artifacts.artifact`: :class:`Artifact` (a draft you add files
  to, then a logged version you download, verify, follow and delete).
* :mod:`~weightslab_nb.tracking.artifacts.store`: :class:`ArtifactStore`, the content-addressed
  store under ``<root_log_dir>/artifacts/`` (its docstring describes the layout).
* :mod:`~weightslab_nb.tracking.artifacts.query`: what ``wl.Api`` uses to find artifacts,
  types and collections.

``run.log_artifact`` / ``run.use_artifact`` (:mod:`weightslab_nb.tracking.run`) and
``wl.log_artifact`` / ``wl.use_artifact`` store into the store of the run's root.
"""

from weightslab_nb.tracking.artifacts.artifact import Artifact, VerificationError
from weightslab_nb.tracking.artifacts.manifest import Entry
from weightslab_nb.tracking.artifacts.query import (ArtifactCollection, ArtifactType,
                                                    ArtifactVersions, RunArtifacts)
from weightslab_nb.tracking.artifacts.store import ArtifactStore

__all__ = ["Artifact", "ArtifactCollection", "ArtifactStore", "ArtifactType", "ArtifactVersions",
           "Entry", "RunArtifacts", "VerificationError"]
