// The SDE-Drag editor and the node's own widgets: reading and writing drag_points and editor_mask, hearing their
// edits, the hidden editor_mask widget, and the preset -> steps rule in the widgets. Only public widget fields
// (name, value, callback, options, hidden, element or, on old frontends, inputEl) and the change tracker's public methods are used.
// No ComfyUI imports, no side effects on import.
import { NODE_NAMES } from "./drag_wire.js";
import { presetAfterStepsEdit, stepsForPreset } from "./step_presets.js";

/** The widget `name` of `node`, or null. */
export function widgetOf(node, name) {
  return node.widgets?.find((widget) => widget.name === name) ?? null;
}

/** The text of widget `name` ("" for none). */
export function widgetText(node, name) {
  const value = widgetOf(node, name)?.value;
  return value == null ? "" : String(value);
}

/** Writes `text` into widget `name` when it differs. */
export function writeWidget(node, name, text) {
  const widget = widgetOf(node, name);
  if (widget && widget.value !== text) widget.value = text;
}

/** Runs `after` (with the same this and arguments) after `object[name]`, keeping the original's return value. */
export function chain(object, name, after) {
  const original = object[name];
  object[name] = function (...args) {
    const result = original?.apply(this, args);
    after.apply(this, args);
    return result;
  };
}

/**
 * Calls `onEdit` when widget `name` is edited: its callback (typed edits in the canvas and in "Vue nodes"), and the
 * input events of its text box, where it has one in the DOM (every keystroke of a hand edit).
 */
export function onWidgetEdit(node, name, onEdit) {
  const widget = widgetOf(node, name);
  if (!widget) return;
  chain(widget, "callback", onEdit);
  (widget.element ?? widget.inputEl)?.addEventListener?.("input", onEdit); // inputEl: frontends before element
}

/**
 * Makes the editor's edit a step of the workflow's undo history: the canvas takes the pointer events, so the
 * frontend's own check after a mouse-up never sees it (captureCanvasState from frontend 1.4x on, checkState before).
 */
export function recordHistoryStep(node, changeTracker) {
  node.setDirtyCanvas?.(true, true);
  if (typeof changeTracker?.captureCanvasState === "function") changeTracker.captureCanvasState();
  else changeTracker?.checkState?.();
}

/**
 * editor_mask is the editor's data, not for typing: hidden in the node, in the canvas layout and in the "Vue nodes"
 * and properties panels. `hidden` and `options.hidden` are read from frontend 1.3x on; 1.27 still lays out hidden
 * widgets, and a zero height (computeSize) keeps it from leaving a gap.
 */
export function hideWidget(widget) {
  widget.hidden = true;
  widget.options.hidden = true; // the same object the 1.4x widget store holds: mutated, not replaced
  widget.computeSize = () => [0, -4];
}

/**
 * The preset runs a fixed step count (step_presets.js): `steps` shows it when the preset is chosen, and editing
 * `steps` to another count switches the preset to "custom". Returns the function that shows the preset's count
 * (for a loaded workflow).
 */
export function linkPresetToSteps(node) {
  const preset = widgetOf(node, NODE_NAMES.preset);
  const steps = widgetOf(node, NODE_NAMES.steps);
  if (!preset || !steps) return () => {};
  const showPresetSteps = () => {
    const value = stepsForPreset(preset.value, steps.value);
    if (steps.value !== value) steps.value = value;
  };
  chain(preset, "callback", showPresetSteps);
  chain(steps, "callback", () => {
    const value = presetAfterStepsEdit(preset.value, steps.value);
    if (preset.value !== value) preset.value = value;
  });
  return showPresetSteps;
}
