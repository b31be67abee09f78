// What the browser scripts (drag_editor.e2e.mjs, help_page.e2e.mjs) share: waiting, and closing the dialogs a fresh
// ComfyUI page may open over the canvas (templates, release notes).

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Closes open dialogs (Escape, then their close button), up to five; returns how many are still open. */
export async function closeDialogs(page) {
  for (let i = 0; i < 5; i++) {
    const open = await page.evaluate(() => [...document.querySelectorAll(".p-dialog, [role=dialog]")]
      .filter((d) => d.offsetParent !== null).length);
    if (!open) return 0;
    await page.keyboard.press("Escape");
    await sleep(300);
    const close = page.locator(".p-dialog-close-button, [role=dialog] button[aria-label=Close]").first();
    if (await close.count()) await close.click({ timeout: 1000 }).catch(() => {});
    await sleep(300);
  }
  return page.evaluate(() => [...document.querySelectorAll(".p-dialog, [role=dialog]")].filter((d) => d.offsetParent !== null).length);
}
