// 大字模式: larger text and stronger contrast for older volunteers, remembered on this phone (localStorage).
// Loaded in <head> so the class is set before the first paint; the header's toggle button switches it.
(function () {
  "use strict";
  var KEY = "hazard-snap-easy", root = document.documentElement;

  function stored() {
    try { return localStorage.getItem(KEY) === "1"; } catch (e) { return false; }  // storage may be blocked
  }

  function apply(on) {
    root.classList.toggle("easy", on);
    var button = document.getElementById("easy-toggle");
    if (button) button.setAttribute("aria-pressed", String(on));
  }

  apply(stored());
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("easy-toggle");
    if (!button) return;
    apply(stored());
    button.addEventListener("click", function () {
      var on = !root.classList.contains("easy");
      try { localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* still switched for this page */ }
      apply(on);
    });
  });
})();
