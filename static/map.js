// The supervisors' map: draws the boundaries, reports and legend that service/mapview.py ships as inert JSON
// (<script type="application/json" id="hazard-map-data">) onto the Leaflet map that folium created.
// Every piece of user text goes into the page as a DOM text node, never as HTML.
(function () {
  "use strict";
  var source = document.getElementById("hazard-map-data");
  if (!source || !window.L) return;
  var data = JSON.parse(source.textContent);
  var map = window[data.map];
  var labels = data.labels;
  var SAFE_URL = /^(?:https?:\/\/|\/(?![\/\\])|\.\.?\/)/i;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function row(label, value) {
    var div = el("div");
    div.appendChild(el("b", null, label + "："));
    div.appendChild(document.createTextNode(value));
    return div;
  }

  function popup(r) {
    var box = el("div", "hazard-popup");
    box.appendChild(row(labels.category, r.category));
    box.appendChild(row(labels.status, r.status));
    box.appendChild(row(labels.committee, r.committee));
    box.appendChild(row(labels.created, r.created));
    box.appendChild(el("p", "desc", r.description));
    if (r.thumb && SAFE_URL.test(r.thumb)) {
      var img = el("img");
      img.src = r.thumb;
      img.alt = labels.photo;
      img.loading = "lazy";
      box.appendChild(img);
    }
    var link = el("a", null, labels.detail);
    link.href = SAFE_URL.test(r.detail) ? r.detail : "#";
    box.appendChild(link);
    return box;
  }

  function tooltip(layer) {
    var p = layer.feature.properties;
    var box = el("div");
    box.appendChild(row(labels.committee, p.name));
    box.appendChild(row(labels.code, p.code));
    return box;
  }

  var areas = L.geoJSON(data.areas, {
    style: { color: "#37474f", weight: 1, fillColor: "#90a4ae", fillOpacity: 0.08 },
    onEachFeature: function (feature, layer) {
      layer.on("mouseover", function () { layer.setStyle({ weight: 3, fillOpacity: 0.2 }); });
      layer.on("mouseout", function () { areas.resetStyle(layer); });
    }
  }).bindTooltip(tooltip, { sticky: true }).addTo(map);

  var reports = L.featureGroup();
  data.reports.forEach(function (r) {
    try {  // one malformed row costs that marker, never the page
      L.circleMarker([r.lat, r.lon], {
        radius: 8, color: "#ffffff", weight: 2, fillColor: r.colour, fillOpacity: 0.9, className: "hazard-report"
      }).bindPopup(function () { return popup(r); }, { maxWidth: 280, minWidth: 200 }).addTo(reports);
    } catch (err) {
      if (window.console) console.warn(labels.bad_row, err);
    }
  });
  reports.addTo(map);

  var overlays = {};
  overlays[labels.areas] = areas;
  overlays[labels.reports] = reports;
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);

  var legend = el("div", "hazard-legend");
  legend.appendChild(el("b", null, labels.legend));
  data.legend.forEach(function (item) {
    var line = el("div");
    var dot = el("i");
    dot.style.background = item[1];
    line.appendChild(dot);
    line.appendChild(document.createTextNode(item[0]));
    legend.appendChild(line);
  });
  document.body.appendChild(legend);
})();
