// Where the SDE-Drag editor's pictures come from: the source image (a core loader upstream, else the image the node
// published on its last run), the connected mask, and the result of a run downstream. The graph walks are in
// editor_graph.js; this module adds the files runs reported and turns them into /view URLs. It runs the upstream
// walk only when asked (the editor asks on graph changes). No ComfyUI imports, no side effects on import: the
// editor hands in `viewUrl(query)`.
import { parseImageWidgetValue, viewQuery } from "./drag_points.js";
import { IMAGE_LOADERS, inputIsLinked, inputSource, nodeKey } from "./editor_graph.js";

/**
 * What editors learned from runs, by node (editor_graph.js nodeKey): the files of the node's published image and
 * mask, and of the result downstream. Undo and redo rebuild every node and its editor, and the files must outlive
 * that; the files of a node no editor shows once the current task is done (deleted, graph cleared, another workflow
 * loaded) are forgotten.
 */
export class RunFiles {
  constructor() {
    this.files = new Map();
  }

  of(node) {
    const key = nodeKey(node);
    if (!this.files.has(key)) this.files.set(key, { image: null, mask: null, result: null });
    return this.files.get(key);
  }

  /** Forgets `key` unless `stillShown(key)` says an editor shows that node again (undo rebuilt it). */
  forgetLater(key, stillShown) {
    setTimeout(() => {
      if (!stillShown(key)) this.files.delete(key);
    }, 0);
  }
}

/** A UI file { filename, subfolder, type } as /view takes it (temp files unless the message says otherwise). */
export function viewFile(file, type = "temp") {
  return { filename: file.filename, subfolder: file.subfolder ?? "", type: file.type ?? type };
}

/** The /view file of a core loader's `image` widget, or null. */
function loaderFile(loader, kind) {
  const widget = loader.widgets?.find((w) => w.name === "image");
  return parseImageWidgetValue(widget?.value, IMAGE_LOADERS[kind]);
}

/**
 * { file, label } of the source image of `node` (input `imageInput`): a core loader upstream (no run needed), else
 * the image the node published on its last run (`runFiles`), else null.
 */
export function sourceImage(node, imageInput, runFiles) {
  const source = inputSource(node, imageInput, "IMAGE");
  if (source && source.kind in IMAGE_LOADERS) {
    const file = loaderFile(source.node, source.kind);
    if (file) return { file, label: file.filename };
  }
  return runFiles.image ? { file: runFiles.image, label: "last run" } : null;
}

/**
 * { file, fromAlpha } of the mask linked to input `maskInput`: LoadImage's MASK is 1 - alpha of its file (the /view
 * route gives the alpha channel alone with channel=a); any other mask is known once the node has run and published
 * it. Null when nothing is linked or known.
 */
export function linkedMask(node, maskInput, runFiles) {
  if (!inputIsLinked(node, maskInput)) return null;
  const source = inputSource(node, maskInput, "MASK");
  if (source?.kind === "LoadImage" && source.node.outputs?.[source.slot]?.type === "MASK") {
    const file = loaderFile(source.node, source.kind);
    if (file) return { file, fromAlpha: true };
  }
  return runFiles.mask ? { file: runFiles.mask, fromAlpha: false } : null;
}

/** The /view query of a file, with channel=a for a mask read from alpha. */
export function viewQueryOf(file, fromAlpha = false) {
  return viewQuery(file) + (fromAlpha ? "&channel=a" : "");
}

/** Loads an image: a promise of the loaded HTMLImageElement. */
export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = reject;
    image.src = url;
  });
}

/**
 * A picture the editor shows, loaded when its URL changes: `show(url, label)` starts loading (or clears for a null
 * url) and calls `onChange` when the picture or its error changes. The last loaded picture stays until then.
 */
export class ShownImage {
  constructor(onChange, keepWhileLoading = false) {
    this.url = null;
    this.image = null;
    this.label = "";
    this.error = null;
    this.onChange = onChange;
    this.keepWhileLoading = keepWhileLoading;
  }

  show(url, label = "") {
    if (url === this.url) return;
    this.url = url;
    this.label = label;
    this.error = null;
    if (!url || !this.keepWhileLoading) this.image = null;
    this.onChange();
    if (!url) return;
    loadImage(url).then((image) => {
      if (this.url !== url) return;
      this.image = image;
      this.onChange();
    }, () => {
      if (this.url !== url) return;
      this.image = null;
      this.error = `cannot load ${label || "the image"}`;
      this.onChange();
    });
  }
}
