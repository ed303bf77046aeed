"""The on-disk artifact store of one root (a session's ``root_log_dir``): versions, aliases,
lineage, and the files themselves, content-addressed.

Layout under ``<root>/artifacts/``::

    objects/<2 hex>/<sha256>     stored files, one per content (read-only, shared by every
                                 version and project of the root)
    projects/<project>/<name>/   one folder per artifact name (a "collection"):
        collection.json          {"name", "type", "project", "created_at", "next_version"}
        versions/v<N>.json       {"version", "name", "type", "project", "digest", "size",
                                  "description", "metadata", "created_at", "logged_by",
                                  "entries": [{"path", "digest", "size", "ref"}]}
        aliases.json             {alias: N} ("latest" always on the newest version)
        lineage.jsonl            {"version", "run" ("project/id"), "mode" ("logged" | "used"),
                                 "dir" (a using run's folder, when not under this root),
                                  "at"}, one line per event
    tmp/                         files being copied in (``<host>-<pid>-<hex>.partial``)
    .lock                        the store's lock (filelock)

Files are copied in before the lock is taken (a temporary name, then a rename to the digest:
the same content twice is one object; a source whose content changed since it was hashed is
refused); everything else changes under the lock and is written atomically (temporary file +
rename), so two processes logging the same name at once get
distinct, consecutive versions and readers never see half a version. Runs are found beside the
store, at ``<root>/runs/<id>/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from filelock import FileLock

from weightslab_nb.errors import InvalidValueError, MissingFileError, StateError, UnknownNameError
from weightslab_nb.tracking.artifacts.artifact import HASH_THREADS, Artifact, from_record
from weightslab_nb.tracking.artifacts.manifest import (VERSION, check_name, check_project,
                                                       copy_hashed, manifest_digest, read_reference,
                                                       unchanged_since_hashed)
from weightslab_nb.tracking.processes import alive

STORE_DIR = "artifacts"
PROJECTS = "projects"
LOCK_TIMEOUT = 120.0  # seconds a writer waits for another one before giving up


class ArtifactStore:
    """The artifacts of one root directory.

    Parameters
    ----------
    root : str or Path
        The directory that holds ``runs/`` and ``artifacts/`` (a session's ``root_log_dir``).
    """

    def __init__(self, root):
        self.root = Path(root)
        self.dir = self.root / STORE_DIR
        self._lock = FileLock(str(self.dir / ".lock"), timeout=LOCK_TIMEOUT)

    # ---------------------------------------------------------------- writing
    def log(self, artifact: Artifact, project: str, run: str | None = None,
            aliases=None) -> Artifact:
        """Store ``artifact`` as the next version of ``project/<its name>`` (or as the latest
        version again when the files are the same as the latest's), attach it, and return it.

        Parameters
        ----------
        artifact : Artifact
            A draft (not logged yet).
        project : str
        run : str, optional
            ``"project/id"`` of the run that logs it (lineage).
        aliases : list of str, optional
            Moved to this version (from the version that had them); ``"latest"`` is added.

        Raises
        ------
        InvalidValueError
            Bad aliases, a name logged before with another type, a file changed since it was
            added.
        StateError
            The artifact is already logged.
        """
        if not isinstance(artifact, Artifact):
            raise InvalidValueError(f"artifact: expected a wl.Artifact, got {artifact!r}")
        if artifact.state != "PENDING":
            raise StateError(f"artifact: {artifact.qualified_name} is logged already; log a new "
                             "wl.Artifact to make the next version")
        check_project(project, "project")
        wanted = _aliases(aliases)
        entries = artifact.files()
        with ThreadPoolExecutor(HASH_THREADS) as pool:  # copies release the GIL
            list(pool.map(self._store_object, [e for e in entries if e.ref is None]))
        digest = manifest_digest(entries)
        with self._locked():
            self.clean_leftovers()
            for entry in entries:  # a delete may have removed an object stored just before
                if entry.ref is None and not self.object_path(entry.digest).exists():
                    self._store_object(entry)
            folder = self._folder(project, artifact.collection_name)
            collection = _read(folder / "collection.json", None)
            if collection is not None and collection["type"] != artifact.type:
                raise InvalidValueError(
                    f"artifact: {project}/{artifact.collection_name} holds artifacts of type "
                    f"{collection['type']!r}, not {artifact.type!r}; use another name")
            if collection is None:
                collection = {"name": artifact.collection_name, "type": artifact.type,
                              "project": project, "created_at": _now(), "next_version": 0}
            names = _read(folder / "aliases.json", {})
            latest = names.get("latest")
            record = None if latest is None else self._record(folder, latest)
            if record is None or record["digest"] != digest:
                record = {"version": collection["next_version"], "name": artifact.collection_name,
                          "type": artifact.type, "project": project, "digest": digest,
                          "size": artifact.size, "description": artifact.description,
                          "metadata": artifact.metadata, "created_at": _now(),
                          "logged_by": run, "entries": [e.to_json() for e in entries]}
                collection["next_version"] += 1
                _write(folder / "collection.json", collection)
                _write(folder / "versions" / f"v{record['version']}.json", record)
            for alias in wanted:
                names[alias] = record["version"]
            names["latest"] = max(self._numbers(folder))
            _write(folder / "aliases.json", names)
            if run is not None:
                self._lineage(folder, record["version"], run, "logged")
        artifact._attach(self, record, _aliases_of(names, record["version"]))
        return artifact

    def use(self, artifact: Artifact, run: str, run_dir: Path | None = None) -> None:
        """Record that ``run`` (``"project/id"``) used the logged ``artifact``; ``run_dir``:
        the run's folder when it is not under this store's root (a run of another root_log_dir
        trained on this version), so :meth:`run_dirs_of` finds it."""
        extra = None
        if run_dir is not None and Path(run_dir).resolve() != self.run_dir(run).resolve():
            extra = str(Path(run_dir).resolve())
        with self._locked():
            self._lineage(self._folder(artifact.project, artifact.collection_name),
                          artifact._record["version"], run, "used", extra)

    def update(self, artifact: Artifact, aliases: list[str]) -> None:
        """Store a logged version's new aliases, description and metadata."""
        wanted = _aliases(aliases)
        folder = self._folder(artifact.project, artifact.collection_name)
        number = artifact._record["version"]
        with self._locked():
            record = self._record(folder, number)
            if record is None:
                raise StateError(f"save: {artifact.qualified_name} was deleted")
            record.update(description=artifact.description, metadata=artifact.metadata)
            _write(folder / "versions" / f"v{number}.json", record)
            names = {a: v for a, v in _read(folder / "aliases.json", {}).items()
                     if v != number or a == "latest"}
            names.update({a: number for a in wanted if a != "latest"})
            _write(folder / "aliases.json", names)
        artifact._record = record
        artifact._aliases = _aliases_of(names, number)

    def delete(self, project: str, name: str, number: int, delete_aliases: bool) -> None:
        """Delete version ``number`` of ``project/name`` and the objects no version keeps.

        Raises
        ------
        StateError
            The version has aliases and ``delete_aliases`` is False.
        """
        folder = self._folder(project, name)
        with self._locked():
            record = self._record(folder, number)
            if record is None:
                raise UnknownNameError(f"delete: {project}/{name}:v{number} does not exist")
            names = _read(folder / "aliases.json", {})
            held = _aliases_of(names, number)
            if held and not delete_aliases:
                raise StateError(f"delete: {project}/{name}:v{number} has aliases {held}; "
                                 "move them to another version first (or pass "
                                 "delete_aliases=True)")
            (folder / "versions" / f"v{number}.json").unlink()
            remaining = self._numbers(folder)
            if not remaining:
                shutil.rmtree(folder)
            else:
                names = {a: v for a, v in names.items() if v != number}
                names["latest"] = max(remaining)
                _write(folder / "aliases.json", names)
            kept = {e["digest"] for r in self._all_records() for e in r["entries"]
                    if e["ref"] is None}
            for entry in record["entries"]:
                if entry["ref"] is None and entry["digest"] not in kept:
                    # (its objects/<2 hex>/ folder stays: a log may be storing into it)
                    self.object_path(entry["digest"]).unlink(missing_ok=True)

    # ---------------------------------------------------------------- reading
    def get(self, project: str, name: str, spec: str = "latest") -> Artifact:
        """The version of ``project/name`` that ``spec`` names: ``"latest"``, ``"v3"``, an
        alias, or a manifest digest.

        Raises
        ------
        UnknownNameError
            No such collection (the message lists those of the project) or no such version
            (it lists the versions and aliases).
        """
        folder = self._folder(project, name)
        names = _read(folder / "aliases.json", None)
        if names is None:
            known = [c["name"] for c in self.collections(project)]
            raise UnknownNameError(f"name: project {project!r} has no artifact {name!r} under "
                                   f"{self.dir}; it has {known}")
        match = VERSION.match(spec)
        number = int(match.group(1)) if match else names.get(spec)
        if number is None and len(spec) == 64:
            number = next((r["version"] for r in self.records(project, name)
                           if r["digest"] == spec), None)
        record = None if number is None else self._record(folder, number)
        if record is None:
            versions = [f"v{n}" for n in self._numbers(folder)]
            raise UnknownNameError(f"name: {project}/{name} has no version {spec!r}; versions "
                                   f"{versions}, aliases {sorted(names)}")
        return from_record(self, record, _aliases_of(names, number))

    def versions(self, project: str, name: str) -> list[Artifact]:
        """Every version of ``project/name``, oldest first (empty when there is none)."""
        names = _read(self._folder(project, name) / "aliases.json", {})
        return [from_record(self, r, _aliases_of(names, r["version"]))
                for r in self.records(project, name)]

    def records(self, project: str, name: str) -> list[dict]:
        """The stored records of ``project/name``'s versions, oldest first."""
        folder = self._folder(project, name)
        found = (self._record(folder, n) for n in self._numbers(folder))
        return [r for r in found if r is not None]

    def projects(self) -> list[str]:
        """Projects that have artifacts here, sorted."""
        folder = self.dir / PROJECTS
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and
                      not p.name.startswith("."))

    def collections(self, project: str | None = None) -> list[dict]:
        """``collection.json`` of every collection (of ``project``, else of every project)."""
        out = []
        for name in [project] if project is not None else self.projects():
            folder = self.dir / PROJECTS / name
            if folder.is_dir():
                out += [c for c in (_read(f / "collection.json", None)
                                    for f in sorted(folder.iterdir())) if c is not None]
        return out

    def runs_of(self, project: str, name: str, number: int, mode: str) -> list[str]:
        """Runs (``"project/id"``) that ``mode`` (``"logged"`` or ``"used"``) version
        ``number``, in the order they first did."""
        events = _lines(self._folder(project, name) / "lineage.jsonl")
        return list(dict.fromkeys(e["run"] for e in events
                                  if e["version"] == number and e["mode"] == mode))

    def run_dirs_of(self, project: str, name: str, number: int, mode: str) -> list[Path]:
        """The folders of :meth:`runs_of`'s runs (under this root, or where a run of another
        root was when it used the version)."""
        events = _lines(self._folder(project, name) / "lineage.jsonl")
        dirs = (Path(e["dir"]) if e.get("dir") else self.run_dir(e["run"]) for e in events
                if e["version"] == number and e["mode"] == mode)
        return list(dict.fromkeys(dirs))

    def run_artifacts(self, run: str, mode: str) -> list[Artifact]:
        """The versions ``run`` (``"project/id"``) logged or used (``mode``), in that order."""
        out, seen = [], set()
        for collection in self.collections():
            folder = self._folder(collection["project"], collection["name"])
            for event in _lines(folder / "lineage.jsonl"):
                key = (collection["project"], collection["name"], event["version"])
                if event["run"] == run and event["mode"] == mode and key not in seen:
                    seen.add(key)
                    out.append((event["at"], key))
        found = []
        for _, (project, name, number) in sorted(out):
            try:
                found.append(self.get(project, name, f"v{number}"))
            except UnknownNameError:
                continue  # deleted since
        return found

    def run_dir(self, run: str) -> Path:
        """Where the run ``"project/id"`` keeps its files."""
        return self.root / "runs" / run.rsplit("/", 1)[-1]

    # ---------------------------------------------------------------- files
    def object_path(self, digest: str) -> Path:
        """The stored file of content ``digest``."""
        return self.dir / "objects" / digest[:2] / digest

    def local_path(self, entry: dict) -> str | None:
        """Where an entry's content is on this machine (None for a remote reference)."""
        if entry["ref"] is None:
            return str(self.object_path(entry["digest"]))
        return entry["ref"][len("file://"):] if entry["ref"].startswith("file://") else None

    def materialise(self, entry, target: Path) -> None:
        """Put ``entry``'s content at ``target``: a hard link to the stored object where the
        filesystem allows, else a copy; a reference is copied from where it is."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        try:
            if entry.ref is None:
                source = self.object_path(entry.digest)
                if not source.is_file():
                    raise MissingFileError(f"download: the stored file of {entry.path!r} "
                                           f"({source}) is gone")
                try:
                    os.link(source, tmp)
                except OSError:
                    shutil.copyfile(source, tmp)
            elif entry.local_path is not None:
                if not Path(entry.local_path).is_file():
                    raise MissingFileError(f"download: the referenced file {entry.ref} of "
                                           f"{entry.path!r} is gone")
                shutil.copyfile(entry.local_path, tmp)
            else:
                read_reference(entry.ref, False)  # a clear error without fsspec
                import fsspec

                with fsspec.open(entry.ref, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _store_object(self, entry) -> None:
        """Copy an entry's source into the store.

        A source unchanged since it was hashed (same size, mtime and inode before and after
        the copy, and modified well before it was hashed: see
        :func:`~weightslab_nb.tracking.artifacts.manifest.unchanged_since_hashed`) is copied
        by the kernel without hashing it again; any other is hashed while copied. A file
        whose content changed since ``add_file`` is refused rather than stored under a digest
        that is not its content's."""
        target = self.object_path(entry.digest)
        if target.exists():
            return
        source = Path(entry.local_path) if entry.local_path is not None else None
        if source is None or not source.is_file():
            raise MissingFileError(f"artifact: the file of {entry.path!r} ({entry.local_path}) "
                                   "is gone since it was added")
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "tmp" / f"{_WRITER}-{secrets.token_hex(8)}.partial"
        try:
            if unchanged_since_hashed(source, entry.source_stat):
                shutil.copyfile(source, tmp)
                same = unchanged_since_hashed(source, entry.source_stat)
            else:
                same = copy_hashed(source, tmp) == entry.digest
            if not same:
                raise InvalidValueError(f"artifact: {entry.local_path} (entry {entry.path!r}) "
                                        "changed after it was added; add it again")
            os.chmod(tmp, 0o444)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    # ---------------------------------------------------------------- internals
    def clean_leftovers(self) -> list[Path]:
        """Remove what interrupted writers left (call it holding the lock; :meth:`log` does).

        Metadata files are only written under the lock, so every ``*.partial`` beside them is
        a leftover. Objects are copied outside it: a ``tmp/`` file is removed only when it was
        written on this machine by a process that is gone.

        Returns
        -------
        list of Path
            The files removed.
        """
        removed = [p for p in (self.dir / PROJECTS).glob("*/*/**/.*.partial") if p.is_file()]
        for path in (self.dir / "tmp").glob("*.partial"):
            host, _, rest = path.name.rpartition("-")[0].rpartition("-")
            if host == socket.gethostname() and rest.isdigit() and not alive(int(rest)):
                removed.append(path)
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def _folder(self, project: str, name: str) -> Path:
        return self.dir / PROJECTS / project / name

    def _locked(self) -> FileLock:
        """The store's lock (its folder made first: a reader never creates it)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        return self._lock

    def _record(self, folder: Path, number: int) -> dict | None:
        return _read(folder / "versions" / f"v{number}.json", None)

    def _numbers(self, folder: Path) -> list[int]:
        versions = folder / "versions"
        if not versions.is_dir():
            return []
        found = (VERSION.match(p.stem) for p in versions.glob("v*.json"))
        return sorted(int(m.group(1)) for m in found if m)

    def _all_records(self) -> list[dict]:
        return [r for c in self.collections() for r in self.records(c["project"], c["name"])]

    def _lineage(self, folder: Path, number: int, run: str, mode: str,
                 run_dir: str | None = None) -> None:
        event = {"version": number, "run": run, "mode": mode, "at": _now()}
        if run_dir is not None:
            event["dir"] = run_dir
        line = json.dumps(event)
        with open(folder / "lineage.jsonl", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def __repr__(self) -> str:
        return f"<ArtifactStore {self.dir}>"


_WRITER = f"{socket.gethostname()}-{os.getpid()}"  # names this process's tmp/ files


def _aliases(aliases) -> list[str]:
    if aliases is None:
        return []
    if isinstance(aliases, str) or not hasattr(aliases, "__iter__"):
        raise InvalidValueError(f"aliases: expected a list of strings, got {aliases!r}")
    out = []
    for alias in aliases:
        check_name(alias, "aliases")
        if VERSION.match(alias):
            raise InvalidValueError(f"aliases: {alias!r} looks like a version; pick another "
                                    "alias")
        out.append(alias)
    return out


def _aliases_of(names: dict, number: int) -> list[str]:
    return sorted(a for a, v in names.items() if v == number)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _read(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def _lines(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _write(path: Path, data) -> None:
    """Replace ``path`` with ``data`` as JSON, through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
