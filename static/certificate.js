// The certificate's print button (no inline handlers: the CSP allows scripts from this origin only).
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
