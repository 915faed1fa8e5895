// The dashboard's only script (the CSP allows no inline script): one "More options" menu
// open at a time, Esc closing it, and the confirmation dialogs' open and close buttons.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.menu[open]")) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  }
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    // A dialog's button that opens another (Refund -> Cancel order) replaces it.
    const within = opener.closest("dialog[open]");
    if (within) within.close();
    document.getElementById(opener.dataset.openDialog).showModal();
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog").close();
});
// Esc closes an open menu and gives the focus back to its button (a dialog closes on Esc
// by itself, before this sees the key).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details.menu[open]")) {
    menu.removeAttribute("open");
    if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
  }
});
// A dialog whose form was refused opens again on the new page, showing why.
for (const dialog of document.querySelectorAll("dialog[data-open-on-load]")) dialog.showModal();
// A list's chosen tab is in sight, though its row of tabs scrolls sideways (a phone).
const chosenTab = () => document.querySelector("nav.tabs [aria-current=page]")
  ?.scrollIntoView({block: "nearest", inline: "nearest"});
chosenTab();
document.addEventListener("htmx:afterSettle", chosenTab);
// A refusal is read first: the focus moves to it (after its dialog has opened).
document.querySelector("[data-focus-on-load]")?.focus();
// A session that lapsed while htmx polls: go to the sign-in page, not a blank section.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.responseURL.endsWith("/dashboard/login")) {
    window.location.assign("/dashboard/login");
  }
});
// A switch saved as it is flipped (automatic capture) that the server refused or never
// answered: it goes back and says so, rather than looking saved (htmx swaps no error in).
const notSaved = (event) => {
  const input = event.detail.elt;
  if (!(input instanceof HTMLInputElement) || input.type !== "checkbox") return;
  input.checked = !input.checked;
  const status = event.detail.xhr?.status;
  const told = document.querySelector(input.getAttribute("hx-target"));
  if (told) {
    told.textContent = status === 403
      ? "Not saved: only an admin can change the payment settings."
      : "Not saved: nothing was changed. Reload the page and try again.";
  }
};
document.addEventListener("htmx:responseError", notSaved);
document.addEventListener("htmx:sendError", notSaved);
// Edit refund's running total: a field whose refusal htmx just put beside it is marked
// invalid, and unmarked once its place is empty again.
document.addEventListener("htmx:afterSettle", () => {
  for (const place of document.querySelectorAll("[data-error-for]")) {
    const field = document.getElementById(place.dataset.errorFor);
    if (!field) continue;
    if (place.textContent.trim()) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
});
