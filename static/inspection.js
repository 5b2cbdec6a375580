// The inspector's phone page: check in with the device's position, then send the checklist (service/sites).
(function () {
  "use strict";
  var root = document.getElementById("inspection");
  if (!root) return;
  var msg = root.dataset, status = document.getElementById("status");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var form = document.getElementById("checklist"), button = document.getElementById("check-in");

  function send(url, body) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
      .then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error((data.error && data.error.message) || String(r.status));
          return data;
        });
      });
  }

  if (button) button.addEventListener("click", function () {
    status.textContent = msg.msgLocating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var body = new FormData();
      body.append("lon", pos.coords.longitude);
      body.append("lat", pos.coords.latitude);
      body.append("crs", "wgs84");
      send(msg.checkin, body).then(function (data) {
        status.textContent = msg.msgCheckedIn.replace("{m}", Math.round(data.checkin_distance_m));
        button.hidden = true;
        form.hidden = false;
      }).catch(function (e) { status.textContent = e.message; });
    }, function () { status.textContent = msg.msgNoGeo; }, { enableHighAccuracy: true, timeout: 15000 });
  });

  if (form) form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.textContent = msg.msgSending;
    send(msg.finish, new FormData(form)).then(function () {
      status.textContent = msg.msgDone;
      form.hidden = true;
    }).catch(function (e) { status.textContent = e.message; });
  });
})();
