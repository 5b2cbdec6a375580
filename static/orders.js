// Service orders: fill the position from the browser (WGS-84) on the order form and before check-in/out.
(function () {
  "use strict";

  function locate(form, done) {
    var status = form.querySelector("[data-locate-status]");
    if (!navigator.geolocation) {
      status.textContent = form.dataset.msgNoGeo;
      return;
    }
    status.textContent = form.dataset.msgLocating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lon.value = pos.coords.longitude.toFixed(7);
      form.elements.lat.value = pos.coords.latitude.toFixed(7);
      form.elements.crs.value = "wgs84";
      form.elements.location_source.value = "device";
      if (form.dataset.msgLocated) {
        status.textContent = form.dataset.msgLocated.replace("{m}", Math.round(pos.coords.accuracy));
      }
      if (done) { done(); }
    }, function () {
      status.textContent = form.dataset.msgNoGeo;
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  document.querySelectorAll("[data-locate]").forEach(function (button) {
    button.addEventListener("click", function () { locate(button.form); });
  });
  document.querySelectorAll("form[data-needs-location]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.elements.lon.value) { return; }
      event.preventDefault();
      locate(form, function () { form.submit(); });
    });
  });
}());
