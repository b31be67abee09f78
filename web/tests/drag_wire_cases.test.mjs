// Every case of tests/data/drag_wire_cases.json, read by the editor's wire-format readers (web/js/drag_wire.js):
// the same pairs, the same mask bits and the same error messages as sde_edit/drag_wire.py (tests/test_drag_wire.py
// runs the same file); error_prefix cases up to the JSON parser's own detail, which differs between the two.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { parseDragPoints, parseEditorMask, WireFormatError } from "../js/drag_wire.js";

const CASES = JSON.parse(readFileSync(new URL("../../tests/data/drag_wire_cases.json", import.meta.url), "utf8"));

/** The value read from `text`, or the WireFormatError's message. */
function read(parse, text) {
  try {
    return { value: parse(text) };
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    return { error: error.message };
  }
}

function checkError(got, testCase, expected) {
  if ("error" in testCase) {
    assert.deepEqual(got, { error: testCase.error });
  } else {
    assert.ok(got.error?.startsWith(testCase.error_prefix), JSON.stringify(got));
    assert.ok(got.error.includes(expected), got.error);
  }
}

describe("drag_points cases", () => {
  for (const testCase of CASES.drag_points) {
    test(JSON.stringify(testCase.text).slice(0, 70), () => {
      const got = read(parseDragPoints, testCase.text);
      if ("pairs" in testCase) {
        assert.deepEqual(got, { value: testCase.pairs.map(([source, target]) => ({ source, target })) });
      } else {
        checkError(got, testCase, '); expected {"pairs"');
      }
    });
  }
});

describe("editor_mask cases", () => {
  for (const testCase of CASES.editor_mask) {
    test(JSON.stringify(testCase.text).slice(0, 70), () => {
      const got = read(parseEditorMask, testCase.text);
      if (!("mask" in testCase)) {
        checkError(got, testCase, '); expected {"size"');
      } else if (testCase.mask === null) {
        assert.deepEqual(got, { value: null });
      } else {
        const { width, height, bits } = got.value;
        assert.deepEqual([width, height], testCase.mask.size);
        assert.equal(Array.from(bits).join(""), testCase.mask.bits);
      }
    });
  }
});

test("the case file has every kind of case for both formats", () => {
  const kinds = (cases, keys) => new Set(cases.map((c) => keys.find((k) => k in c)));
  assert.deepEqual(kinds(CASES.drag_points, ["pairs", "error", "error_prefix"]), new Set(["pairs", "error", "error_prefix"]));
  assert.deepEqual(kinds(CASES.editor_mask, ["mask", "error", "error_prefix"]), new Set(["mask", "error", "error_prefix"]));
});
