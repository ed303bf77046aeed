import { describe, expect, it } from "vitest";
import { columnsOf, keyCommand, moveCursor, passesToLab, stepInOrder } from "./keys";

describe("grid keys", () => {
  it("maps keys to grid commands", () => {
    expect(keyCommand({ key: "ArrowDown" })).toEqual({ kind: "move", key: "ArrowDown", extend: false });
    expect(keyCommand({ key: "ArrowLeft", shift: true })).toEqual({ kind: "move", key: "ArrowLeft", extend: true });
    expect(keyCommand({ key: " " })).toEqual({ kind: "toggle" });
    expect(keyCommand({ key: "Escape" })).toEqual({ kind: "clear" });
    expect(keyCommand({ key: "Enter" })).toEqual({ kind: "open" });
    expect(keyCommand({ key: "t" })).toEqual({ kind: "tag" });
    expect(keyCommand({ key: "d" })).toEqual({ kind: "discard" });
    expect(keyCommand({ key: "r" })).toEqual({ kind: "restore" });
    expect(keyCommand({ key: "?", shift: true })).toEqual({ kind: "help" });
    expect(keyCommand({ key: "a", ctrl: true })).toEqual({ kind: "selectAll" });
    expect(keyCommand({ key: "x" })).toBe(null);
    expect(keyCommand({ key: "d", ctrl: true })).toBe(null);
    expect(keyCommand({ key: "ArrowDown", alt: true })).toBe(null);
  });

  it("keeps plain keys in the grid and lets other ctrl combinations reach JupyterLab", () => {
    expect(passesToLab({ key: "a" })).toBe(false); // "insert a cell above" in command mode
    expect(passesToLab({ key: "x" })).toBe(false);
    expect(passesToLab({ key: "ArrowUp" })).toBe(false);
    expect(passesToLab({ key: "a", ctrl: true })).toBe(false); // the grid's select-all
    expect(passesToLab({ key: "s", ctrl: true })).toBe(true); // save the notebook
  });
});

describe("the cursor", () => {
  it("counts the cells of the first row from their top edges", () => {
    expect(columnsOf([0, 0, 0, 0, 120, 120, 120, 120, 240])).toBe(4);
    expect(columnsOf([10, 10.5, 10])).toBe(3);
    expect(columnsOf([0, 100, 200])).toBe(1);
    expect(columnsOf([])).toBe(1);
  });

  it("moves row-wise in a grid of N columns and stays at the edges", () => {
    // 10 cells in rows of 4: 0 1 2 3 / 4 5 6 7 / 8 9
    expect(moveCursor(5, "ArrowRight", 10, 4)).toBe(6);
    expect(moveCursor(3, "ArrowRight", 10, 4)).toBe(4); // wraps to the next row
    expect(moveCursor(9, "ArrowRight", 10, 4)).toBe(9);
    expect(moveCursor(0, "ArrowLeft", 10, 4)).toBe(0);
    expect(moveCursor(5, "ArrowUp", 10, 4)).toBe(1);
    expect(moveCursor(1, "ArrowUp", 10, 4)).toBe(1);
    expect(moveCursor(1, "ArrowDown", 10, 4)).toBe(5);
    expect(moveCursor(6, "ArrowDown", 10, 4)).toBe(9); // the shorter last row: its last cell
    expect(moveCursor(9, "ArrowDown", 10, 4)).toBe(9);
    expect(moveCursor(6, "Home", 10, 4)).toBe(0);
    expect(moveCursor(6, "End", 10, 4)).toBe(9);
  });

  it("starts on the first cell, and has nowhere to go on an empty page", () => {
    expect(moveCursor(-1, "ArrowDown", 10, 4)).toBe(0);
    expect(moveCursor(-1, "End", 10, 4)).toBe(9);
    expect(moveCursor(-1, "ArrowDown", 0, 4)).toBe(-1);
    expect(moveCursor(3, "ArrowDown", 10, 0)).toBe(4); // bad column count: one per row
  });
});

describe("previous / next in the grid's order", () => {
  it("stays on the page when it can and pages along at its ends", () => {
    expect(stepInOrder(48, 3, 1, 48, 1797)).toEqual({ page: 48, index: 4 });
    expect(stepInOrder(48, 47, 1, 48, 1797)).toEqual({ page: 96, index: 0 });
    expect(stepInOrder(48, 0, -1, 48, 1797)).toEqual({ page: 0, index: 47 });
    expect(stepInOrder(10, 0, -1, 48, 1797)).toEqual({ page: 0, index: 9 }); // an offset off the grid
  });

  it("stops at either end of the order", () => {
    expect(stepInOrder(0, 0, -1, 48, 1797)).toBe(null);
    expect(stepInOrder(1776, 20, 1, 48, 1797)).toBe(null);
    expect(stepInOrder(0, -1, 1, 48, 1797)).toBe(null);
  });
});
