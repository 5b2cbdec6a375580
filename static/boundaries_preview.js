// The boundary import preview: the ground each changed code gains or loses, drawn on the map folium created.
// The regions arrive as inert JSON (<script id="hazard-map-data">); codes and names become DOM text, never HTML.
(function () {
  "use strict";
  var source = document.getElementById("hazard-map-data");
  if (!source || !window.L) return;
  var data = JSON.parse(source.textContent);
  var map = window[data.map];
  var colours = { added: "#43a047", removed: "#e53935", changed: "#fb8c00" };
  var layer = L.geoJSON(data.changes, {
    style: function (f) {
      return { color: colours[f.properties.kind] || "#1e88e5", weight: 1, fillOpacity: 0.45, className: "changed-region" };
    },
    onEachFeature: function (f, shape) {
      var tip = document.createElement("span");
      tip.textContent = f.properties.code + " " + (f.properties.name || "") + " · " + (data.kinds[f.properties.kind] || "");
      shape.bindTooltip(tip);
    }
  }).addTo(map);
  if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [20, 20], animate: false });
})();
