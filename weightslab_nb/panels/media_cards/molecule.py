"""The card of :class:`~weightslab_nb.tracking.media.Molecule`: its format, caption, size, atom
count and formula in the summary; with the ``media`` request, a 2-D depiction drawn by RDKit
(an SVG, when the optional extra ``weightslab-nb[chem]`` is installed and RDKit reads the file)
and the file itself, offered for download (3-D viewers open it).

The drawing is made in the panel's request handling, never in the training thread, once per
file content (a bounded cache); a structure of more than :data:`MAX_HEAVY_ATOMS` heavy atoms
(a protein) is not drawn, and the card says why.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import PurePosixPath

from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register

MAX_HEAVY_ATOMS = 300  # larger structures are not drawn in 2-D
MAX_DRAWINGS = 64  # depictions kept in memory
DRAWING_SIZE = (360, 260)  # the SVG's width and height, in pixels
NO_RDKIT = "install weightslab-nb[chem] for a 2D drawing"
BINARY_FORMATS = ("mmtf",)
DRAWN_FORMATS = ("sdf", "sd", "mol", "pdb", "pqr", "mol2", "xyz")  # what RDKit reads

_drawings: OrderedDict = OrderedDict()  # (sha256 or path, format) -> (svg bytes or None, note)
_lock = threading.Lock()


def _summary(descriptor: dict) -> dict:
    return {k: descriptor.get(k) for k in ("format", "caption", "size", "path", "atoms",
                                           "formula")}


def _rdkit():
    """RDKit's Chem module, or None when the extra is not installed."""
    try:
        from rdkit import Chem
    except ImportError:
        return None
    return Chem


def _parse(Chem, text: str, file_type: str):
    """The molecule RDKit reads from the text of a file of one of :data:`DRAWN_FORMATS`, or
    None (a file it cannot read)."""
    if file_type in ("sdf", "sd", "mol"):
        return Chem.MolFromMolBlock(text, sanitize=False, removeHs=False)
    if file_type in ("pdb", "pqr"):
        return Chem.MolFromPDBBlock(text, sanitize=False, removeHs=False)
    if file_type == "mol2":
        return Chem.MolFromMol2Block(text, sanitize=False, removeHs=False)
    mol = Chem.MolFromXYZBlock(text)  # xyz: atoms only, bonds from their distances
    if mol is not None:
        from rdkit.Chem import rdDetermineBonds

        rdDetermineBonds.DetermineConnectivity(mol)
    return mol


def _kekulized_heavy_atoms(Chem, mol):
    """A copy without explicit hydrogens, in Kekulé form; None when RDKit cannot make it."""
    try:
        bare = Chem.RemoveHs(mol)
        Chem.Kekulize(bare, clearAromaticFlags=True)
    except Exception:  # noqa: BLE001 - RDKit raises its own kinds (valence, kekulization)
        return None
    return bare


def _tidy(Chem, mol):
    """The molecule as a 2-D drawing wants it: sanitized when it can be, hydrogens implicit,
    no 3-D coordinates, stereo centres only where they are real (a 3-D file marks every
    pyramidal atom), bonds in Kekulé form. What fails is left as read."""
    mol = Chem.Mol(mol)
    mol.UpdatePropertyCache(strict=False)
    if Chem.SanitizeMol(mol, catchErrors=True) == Chem.SanitizeFlags.SANITIZE_NONE:
        Chem.AssignStereochemistryFrom3D(mol)
        Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
        mol = _kekulized_heavy_atoms(Chem, mol) or mol  # else its hydrogens drawn, as read
    mol.RemoveAllConformers()
    return mol


def _draw(Chem, payload: bytes, file_type: str) -> tuple[bytes | None, str | None]:
    """``(svg, None)``, or ``(None, why there is no drawing)``."""
    from rdkit import RDLogger
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D

    RDLogger.DisableLog("rdApp.*")  # a file RDKit cannot read is said in the card instead
    try:
        mol = _parse(Chem, payload.decode("utf-8", errors="replace"), file_type)
        if mol is None or mol.GetNumAtoms() == 0:
            return None, f"RDKit cannot read this {file_type} file: no 2D drawing"
        heavy = mol.GetNumHeavyAtoms()
        if heavy > MAX_HEAVY_ATOMS:
            return None, (f"{heavy} heavy atoms: too large for a 2D drawing (at most "
                          f"{MAX_HEAVY_ATOMS}); open the file in a 3D viewer")
        mol = _tidy(Chem, mol)
        rdDepictor.Compute2DCoords(mol)
        drawer = rdMolDraw2D.MolDraw2DSVG(*DRAWING_SIZE)
        drawer.drawOptions().clearBackground = False  # transparent: the card's colour shows
        drawer.DrawMolecule(mol)
        drawer.FinishDrawing()
        return drawer.GetDrawingText().encode("utf-8"), None
    except Exception as exc:  # noqa: BLE001 - RDKit raises its own kinds for odd files
        return None, f"RDKit could not draw this {file_type} file: {exc}"[:300]
    finally:
        RDLogger.EnableLog("rdApp.*")


def depiction(payload: bytes, file_type: str, key) -> tuple[bytes | None, str | None]:
    """The 2-D drawing of a molecule file as SVG bytes, or None and the reason there is none
    (RDKit missing, a format or file RDKit cannot read, a structure too large).

    Parameters
    ----------
    payload : bytes
        The file's content.
    file_type : str
        One of :data:`~weightslab_nb.tracking.media.MOLECULE_FORMATS`.
    key : hashable
        Identifies the content (its sha256): a drawing is made once per key and format.
    """
    Chem = _rdkit()
    if Chem is None:
        return None, NO_RDKIT
    with _lock:
        found = _drawings.get((key, file_type))
        if found is not None:
            _drawings.move_to_end((key, file_type))
            return found
    if file_type not in DRAWN_FORMATS:
        return None, f"no 2D drawing of {file_type} files (RDKit does not read them)"
    drawn = _draw(Chem, payload, file_type)
    with _lock:
        _drawings[(key, file_type)] = drawn
        while len(_drawings) > MAX_DRAWINGS:
            _drawings.popitem(last=False)
    return drawn


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    payload = read(descriptor["path"])
    file_type = str(descriptor.get("format") or "")
    caption = descriptor.get("caption")
    svg, note = depiction(payload, file_type, descriptor.get("sha256") or descriptor["path"])
    name = PurePosixPath(descriptor["path"]).name
    file_item = ({"mime": "application/octet-stream" if file_type in BINARY_FORMATS
                  else "text/plain", "caption": caption, "role": "file", "name": name,
                  "format": file_type, "note": note}, payload)
    if svg is None:
        return [file_item]
    width, height = DRAWING_SIZE
    return [({"mime": "image/svg+xml", "caption": caption, "role": "depiction", "width": width,
              "height": height}, svg), file_item]


register("molecule-file", CardKind(kind="molecule", summary=_summary, items=_items))
