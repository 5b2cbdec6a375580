// The mobile report page: preview the photo, locate the device, send the report once.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var msg = form.dataset;
  var geoStatus = document.getElementById("geo-status");
  var result = document.getElementById("result");
  var button = document.getElementById("submit");

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "r-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  document.getElementById("client_report_id").value = newClientId();

  function locate() {
    if (!navigator.geolocation) { geoStatus.textContent = msg.msgNoGeo; return; }
    geoStatus.textContent = msg.msgLocating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("lon").value = pos.coords.longitude;
      document.getElementById("lat").value = pos.coords.latitude;
      document.getElementById("accuracy_m").value = Math.round(pos.coords.accuracy);
      geoStatus.textContent = msg.msgLocated.replace("{m}", Math.round(pos.coords.accuracy));
    }, function () { geoStatus.textContent = msg.msgNoGeo; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  document.getElementById("photo").addEventListener("change", function (ev) {
    var file = ev.target.files[0];
    var img = document.getElementById("preview");
    if (file) { img.src = URL.createObjectURL(file); img.hidden = false; }
  });

  function show(text, ok) {
    result.textContent = text;
    result.className = ok ? "ok" : "error";
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    button.disabled = true;
    show(msg.msgSending, true);
    fetch(msg.api, { method: "POST", body: new FormData(form), headers: { "Accept": "application/json" } })
      .then(function (resp) {
        return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
      })
      .then(function (r) {
        if (r.ok) {
          show(msg.msgDone + " " + r.body.town.name + " · " + r.body.committee.name, true);
          form.dataset.reportId = r.body.id;
          document.getElementById("client_report_id").value = newClientId();
        } else {
          show(r.body.error ? r.body.error.message : msg.msgNetwork, false);
        }
      })
      .catch(function () { show(msg.msgNetwork, false); })
      .finally(function () { button.disabled = false; });
  });

  locate();
})();
