"""Cheap facts about a molecule file, read without RDKit: its atom count and formula.

One pass over the text of the first structure (a pdb's first model, an sdf's first record);
formats whose atoms name no element (gro) give the count only, the others (cif, mmtf) nothing.
"""

from __future__ import annotations

import re
from collections import Counter

_ELEMENT = re.compile(r"[A-Za-z]{1,2}")


def _symbol(text: str) -> str | None:
    """An element symbol as written in a file ("CL", "cl", "Cl" -> "Cl"), or None."""
    found = _ELEMENT.match(text.strip())
    return found.group(0).capitalize() if found else None


def _pdb(lines: list[str]) -> list:
    symbols = []
    for line in lines:
        if line.startswith("ENDMDL"):
            break  # the first model of an NMR ensemble
        if line.startswith(("ATOM  ", "HETATM")):
            element = line[76:78].strip()
            # without the element columns (pqr, old files): the atom name's first letter
            symbols.append(_symbol(element) if element else
                           _symbol(line.split()[2].lstrip("0123456789")[:1]))
    return symbols


def _xyz(lines: list[str]) -> list:
    count = int(lines[0].strip())
    return [_symbol(line.split()[0]) if line.split() else None
            for line in lines[2:2 + count]]


def _molfile(lines: list[str]) -> list:
    if len(lines) > 3 and "V3000" in lines[3]:
        symbols, inside = [], False
        for line in lines:
            if line.startswith("M  V30 BEGIN ATOM"):
                inside = True
            elif line.startswith("M  V30 END ATOM"):
                break
            elif inside and len(line.split()) > 3:
                symbols.append(_symbol(line.split()[3]))
        return symbols
    count = int(lines[3][:3])
    return [_symbol(line[31:34]) for line in lines[4:4 + count]]


def _mol2(lines: list[str]) -> list:
    symbols, inside = [], False
    for line in lines:
        if line.startswith("@<TRIPOS>"):
            if inside:
                break
            inside = line.startswith("@<TRIPOS>ATOM")
        elif inside and len(line.split()) > 5:
            symbols.append(_symbol(line.split()[5].split(".")[0]))
    return symbols


_READERS = {"pdb": _pdb, "pqr": _pdb, "xyz": _xyz, "sdf": _molfile, "sd": _molfile,
            "mol": _molfile, "mol2": _mol2}


def hill_formula(symbols: list[str]) -> str:
    """The Hill formula of a list of element symbols: C, then H, then the others in
    alphabetical order (all alphabetical when there is no carbon); ``"H2O"`` for water."""
    counts = Counter(symbols)
    order = (["C", "H"] if "C" in counts else []) + sorted(
        s for s in counts if not ("C" in counts and s in ("C", "H")))
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order if counts[s])


def molecule_facts(payload: bytes, file_type: str) -> dict:
    """``{"atoms": int, "formula": str}`` for a molecule file, each only when the file says it
    plainly (``{}`` when it cannot be read this way). Never raises."""
    try:
        lines = payload.decode("utf-8").splitlines()
        if file_type == "gro":
            return {"atoms": int(lines[1].strip())}
        reader = _READERS.get(file_type)
        if reader is None:
            return {}
        symbols = reader(lines)
    except (UnicodeDecodeError, ValueError, IndexError):
        return {}
    if not symbols:
        return {}
    facts = {"atoms": len(symbols)}
    if all(symbols):
        facts["formula"] = hill_formula(symbols)
    return facts
