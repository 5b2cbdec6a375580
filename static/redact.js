// Manual redaction on the report detail page (issue 25): "手动遮挡" opens the photo on a canvas; boxes are drawn
// with the mouse, a finger or a pen (pointer events), previewed blurred, and saved as fractions of the photo (0..1),
// so they do not depend on the size it is shown at. The server checks them again and writes the new public copy.
(function () {
  "use strict";
  var dialog = document.getElementById("redact-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var canvas = document.getElementById("redact-canvas");
  var ctx = canvas.getContext("2d");
  var form = document.getElementById("redact-form");
  var field = document.getElementById("redact-boxes");
  var save = document.getElementById("redact-save");
  var count = document.getElementById("redact-count");
  var countText = document.getElementById("redact-count-text").innerHTML;
  var MIN_SIDE = 0.005; // as service/photos/boxes.py: a smaller box covers nothing and is refused
  var MAX_BOXES = 20;
  var img = null, boxes = [], drag = null;

  function fit() {
    var maxW = Math.min(img.naturalWidth, dialog.clientWidth - 32 || window.innerWidth - 64);
    var maxH = Math.max(160, window.innerHeight * 0.6);
    var scale = Math.min(maxW / img.naturalWidth, maxH / img.naturalHeight, 1);
    canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
  }

  function px(b) {
    return [b[0] * canvas.width, b[1] * canvas.height, (b[2] - b[0]) * canvas.width, (b[3] - b[1]) * canvas.height];
  }

  function cover(b) {
    var r = px(b);
    ctx.save();
    ctx.beginPath();
    ctx.rect(r[0], r[1], r[2], r[3]);
    ctx.clip();
    if ("filter" in ctx) {
      ctx.filter = "blur(" + Math.max(6, Math.round(Math.max(r[2], r[3]) / 6)) + "px)";
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      ctx.filter = "none";
    } else {
      ctx.fillStyle = "#000";
      ctx.fillRect(r[0], r[1], r[2], r[3]);
    }
    ctx.restore();
    ctx.strokeStyle = "#c62828";
    ctx.lineWidth = 2;
    ctx.strokeRect(r[0], r[1], r[2], r[3]);
  }

  function draw() {
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    boxes.forEach(cover);
    if (drag) {
      var r = px(normal(drag));
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = "#1565c0";
      ctx.lineWidth = 2;
      ctx.strokeRect(r[0], r[1], r[2], r[3]);
      ctx.setLineDash([]);
    }
    count.textContent = countText.replace("{n}", String(boxes.length));
    save.disabled = boxes.length === 0;
    field.value = JSON.stringify(boxes.map(function (b) {
      return b.map(function (v) { return Math.round(v * 10000) / 10000; });
    }));
  }

  function normal(d) {
    return [Math.min(d[0], d[2]), Math.min(d[1], d[3]), Math.max(d[0], d[2]), Math.max(d[1], d[3])];
  }

  function at(e) {
    var rect = canvas.getBoundingClientRect();
    var x = (e.clientX - rect.left) / rect.width, y = (e.clientY - rect.top) / rect.height;
    return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
  }

  canvas.addEventListener("pointerdown", function (e) {
    if (!img || boxes.length >= MAX_BOXES) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    var p = at(e);
    drag = [p[0], p[1], p[0], p[1]];
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var p = at(e);
    drag[2] = p[0];
    drag[3] = p[1];
    draw();
  });
  function finish(e) {
    if (!drag) return;
    var b = normal(drag);
    drag = null;
    if (e.type === "pointerup" && b[2] - b[0] >= MIN_SIDE && b[3] - b[1] >= MIN_SIDE) boxes.push(b);
    draw();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  document.getElementById("redact-undo").addEventListener("click", function () { boxes.pop(); draw(); });
  document.getElementById("redact-clear").addEventListener("click", function () { boxes = []; draw(); });
  document.getElementById("redact-cancel").addEventListener("click", function () { dialog.close(); });
  form.addEventListener("submit", function (e) {
    if (boxes.length === 0) { e.preventDefault(); return; }
    save.disabled = true; // one save per click: the server writes a new copy each time
  });

  document.querySelectorAll(".redact-open").forEach(function (button) {
    button.addEventListener("click", function () {
      boxes = [];
      drag = null;
      form.action = button.dataset.action;
      img = new Image();
      img.onload = function () { fit(); draw(); dialog.dataset.ready = "1"; };
      dialog.dataset.ready = "";
      dialog.dataset.photoId = button.dataset.photoId;
      img.src = button.dataset.src;
      dialog.showModal();
    });
  });
})();
