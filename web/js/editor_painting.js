// The SDE-Drag editor's mask painting: the painted mask (editor_mask) with its strokes, the connected mask (read
// from its file), and the overlay that shows either over the image. The pixel logic is in editor_mask.js; this
// module keeps the state and the overlay canvas. No ComfyUI imports, no side effects on import.
import { decodeMask, emptyMask, encodeMask, maskFromPixels, paintSegment, writeOverlay } from "./editor_mask.js";

// Overlay colours, RGBA 0-255: the painted (editable) area tinted, the kept area dimmed; a connected mask in
// another tint, as it cannot be painted here.
export const OVERLAY = {
  painted: [80, 200, 255, 105],
  linked: [255, 170, 60, 105],
  kept: [0, 0, 0, 115],
};

/** One editor's masks. */
export class MaskPainting {
  constructor() {
    this.mask = null; // the painted mask (editor_mask.js), null = none
    this.error = null; // message while the editor_mask text does not decode
    this.text = null; // editor_mask text last read or written
    this.stroke = null; // { value, last: [x, y], pointerId } while the brush is down
    this.linkedMask = { url: null, mask: null, error: null }; // the connected mask, read from its file
    this.overlay = null; // { mask, tint, canvas, context, pixels }: the shown mask at image size
  }

  /** Reads an editor_mask text when it differs from the last one read or written (or `force`); true if it did. */
  read(text, force = false) {
    if (this.stroke || (!force && text === this.text)) return false;
    this.text = text;
    const { mask, error } = decodeMask(text);
    this.mask = mask;
    this.error = error;
    return true;
  }

  /** The editor_mask text of the painted mask ("" when nothing is painted: no mask), remembered as written. */
  written() {
    this.text = encodeMask(this.mask);
    if (this.text === "") this.mask = null; // all erased: no mask, the whole image may change
    return this.text;
  }

  clear() {
    this.mask = null;
    this.error = null;
  }

  /** What is wrong with the painted mask (its text, or its size against the image's [w, h]), or null. */
  problem(imageSize) {
    if (this.error) return `${this.error} (press Clear mask)`;
    if (!imageSize || !this.mask) return null;
    const [width, height] = imageSize;
    if (this.mask.width === width && this.mask.height === height) return null;
    return `editor_mask was painted on a ${this.mask.width}\u00d7${this.mask.height} image, this one is ${width}\u00d7${height} (press Clear mask)`;
  }

  /** Why the brush cannot paint now, or null when it can. */
  blocked(linked, imageSize) {
    if (linked) return "the mask comes from the mask input (read-only here)";
    if (!imageSize) return "no image yet";
    return this.problem(imageSize);
  }

  /**
   * The overlay canvas of the mask to show: the connected one while the mask input is linked (at any size: a mask
   * may also come at the latent's size), else the painted one when it has the image's size; null for none.
   */
  overlayCanvas(linked, imageSize) {
    const mask = linked ? this.linkedMask.mask : this.problem(imageSize) ? null : this.mask;
    if (!mask) return null;
    const tint = linked ? OVERLAY.linked : OVERLAY.painted;
    if (this.overlay?.mask !== mask || this.overlay.tint !== tint) {
      const canvas = document.createElement("canvas");
      Object.assign(canvas, { width: mask.width, height: mask.height });
      const context = canvas.getContext("2d");
      const pixels = context.createImageData(mask.width, mask.height);
      writeOverlay(mask, pixels.data, tint, OVERLAY.kept);
      context.putImageData(pixels, 0, 0);
      this.overlay = { mask, tint, canvas, context, pixels };
    }
    return this.overlay.canvas;
  }

  /** Brush down at image position `point`: paints (value 1) or erases (0) a disc, on an empty mask if none. */
  startStroke(point, value, size, imageSize, pointerId) {
    if (!this.mask) this.mask = emptyMask(imageSize[0], imageSize[1]);
    this.stroke = { value, last: point, pointerId };
    this.continueStroke(point, size);
  }

  /** The brush moved to `point`: paints the segment from the last position, and the overlay's box with it. */
  continueStroke(point, size) {
    const box = paintSegment(this.mask, this.stroke.last, point, size, this.stroke.value);
    this.stroke.last = point;
    if (box && this.overlay?.mask === this.mask) {
      const { mask, tint, context, pixels } = this.overlay;
      writeOverlay(mask, pixels.data, tint, OVERLAY.kept, box);
      context.putImageData(pixels, 0, 0, box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
    }
  }

  endStroke() {
    this.stroke = null;
  }

  /**
   * Shows the connected mask of `source` = { url, fromAlpha } | null (see editor_sources.js): loads and decodes it
   * when the url changed; `onChange` runs when the shown mask changes.
   */
  showLinked(source, loadImage, onChange) {
    const url = source?.url ?? null;
    if (url === this.linkedMask.url) return;
    this.linkedMask = { url, mask: null, error: null };
    onChange();
    if (!url) return;
    loadImage(url).then((image) => {
      if (this.linkedMask.url !== url) return;
      const canvas = document.createElement("canvas");
      Object.assign(canvas, { width: image.naturalWidth, height: image.naturalHeight });
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(image, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      this.linkedMask.mask = maskFromPixels(pixels, canvas.width, canvas.height, source.fromAlpha);
      onChange();
    }, () => {
      if (this.linkedMask.url !== url) return;
      this.linkedMask.error = "cannot load the connected mask";
      onChange();
    });
  }
}
