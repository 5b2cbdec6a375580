// The report detail page: a small map around the hazard (OSM tiles when reachable; the pin shows regardless).
(function () {
  "use strict";
  var el = document.getElementById("mini-map");
  if (!el || !window.L) return;
  var at = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  var map = L.map(el, { zoomControl: false, attributionControl: true }).setView(at, 17);
  L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
  L.circleMarker(at, { radius: 8, color: "#c62828", fillOpacity: 0.8 }).addTo(map);
  window.hazardMiniMap = map;
})();
