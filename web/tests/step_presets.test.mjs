// Unit tests of the preset -> steps rule the editor applies to the SDE-Drag node's widgets (web/js/step_presets.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { CUSTOM_PRESET, presetAfterStepsEdit, presetSteps, stepsForPreset } from "../js/step_presets.js";

test("a preset's step count is read from its name", () => {
  assert.equal(presetSteps("paper (120 steps)"), 120);
  assert.equal(presetSteps("fast (30 steps)"), 30);
  assert.equal(presetSteps(CUSTOM_PRESET), null);
  assert.equal(presetSteps(undefined), null);
  assert.equal(presetSteps("30 steps"), null); // only "(N steps)" at the end counts
});

test("choosing a preset (or loading one) shows its step count in steps; custom keeps steps", () => {
  assert.equal(stepsForPreset("paper (120 steps)", 60), 120);
  assert.equal(stepsForPreset("fast (30 steps)", 60), 30);
  assert.equal(stepsForPreset(CUSTOM_PRESET, 60), 60);
});

test("editing steps switches to custom unless the preset runs that many steps", () => {
  assert.equal(presetAfterStepsEdit("fast (30 steps)", 45), CUSTOM_PRESET);
  assert.equal(presetAfterStepsEdit("paper (120 steps)", 119), CUSTOM_PRESET);
  assert.equal(presetAfterStepsEdit("fast (30 steps)", 30), "fast (30 steps)");
  assert.equal(presetAfterStepsEdit(CUSTOM_PRESET, 12), CUSTOM_PRESET);
});
