// The SDE-Drag node's `preset` -> `steps` rule, as the node applies it (nodes/sde_drag.py, PRESETS): a preset named
// "<name> (<N> steps)" runs N steps whatever `steps` says; "custom" runs `steps`. The editor shows that in the
// widgets: choosing a preset writes its step count into `steps`, and editing `steps` switches to "custom".
// Pure functions, unit-tested in web/tests/step_presets.test.mjs.

export const CUSTOM_PRESET = "custom";

/** The step count a preset runs, read from its name ("paper (120 steps)" -> 120), or null ("custom"). */
export function presetSteps(preset) {
  const match = /\((\d+) steps\)$/.exec(String(preset ?? ""));
  return match ? Number(match[1]) : null;
}

/** The `steps` value to show for `preset`: its step count, or `steps` unchanged for "custom". */
export function stepsForPreset(preset, steps) {
  return presetSteps(preset) ?? steps;
}

/** The preset after the user set `steps`: unchanged while it runs that many steps (or is "custom"), else "custom". */
export function presetAfterStepsEdit(preset, steps) {
  const fixed = presetSteps(preset);
  return fixed === null || fixed === steps ? preset : CUSTOM_PRESET;
}
