// The supervisors' map: committees and reports come as vector tiles (service/maps/vector_tiles.py) drawn by
// Leaflet.VectorGrid on the map folium created; settings arrive as inert JSON (<script id="hazard-map-data">).
// Popups are fetched on demand from the JSON API. Every piece of user text becomes a DOM text node, never HTML.
(function () {
  "use strict";
  var source = document.getElementById("hazard-map-data");
  if (!source || !window.L || !L.vectorGrid) return;
  var data = JSON.parse(source.textContent);
  var map = window[data.map];
  var labels = data.labels;
  var SAFE_URL = /^(?:https?:\/\/|\/(?![\/\\])|\.\.?\/)/i;
  // The system the shown base map draws in: on 高德 (GCJ-02) tiles every data URL asks the server to shift.
  var crs = data.bases.length ? data.bases[0][2] : "wgs84";
  function withCrs(url) {
    return crs === "gcj02" ? url + (url.indexOf("?") < 0 ? "?" : "&") + "crs=gcj02" : url;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function row(label, value) {
    var div = el("div");
    div.appendChild(el("b", null, label + "："));
    div.appendChild(document.createTextNode(value === undefined || value === null ? "" : String(value)));
    return div;
  }

  // --- reports: one symbol per 64 px cell of a screen grid, at every zoom (service/maps/vector_tiles.py) ---
  // A cell holding one report shows it (red when overdue, else its status' colour); any other cell shows a
  // cluster, its radius (p.r, from the server) by count and its fill by the share overdue. Each symbol lies
  // inside its cell, so none overlaps another and none is cut at a tile edge. Radii stay above 10 px: Leaflet
  // treats a smaller circle as a marker and asks it for a LatLng, which VectorGrid's symbols do not have.
  var STROKE = 2;
  function pointStyle(p) {
    return { radius: p.r || 11, weight: STROKE, color: "#ffffff", fill: true, fillOpacity: 0.95,
             fillColor: p.overdue ? data.overdueColour : (data.colours[p.status] || "#000000"),
             className: "hazard-report" };
  }
  function clusterShade(p) {
    var share = p.count ? (p.overdue || 0) / p.count : 0, colour = data.clusterShades[0][1];
    data.clusterShades.forEach(function (s) { if (share >= s[0]) colour = s[1]; });
    return colour;
  }
  function clusterStyle(p) {
    return { radius: p.r || 11, weight: STROKE, color: "#ffffff", fill: true, fillColor: clusterShade(p),
             fillOpacity: 0.8, className: "hazard-cluster" };  // the choropleth shows through a little
  }
  var reports = L.vectorGrid.protobuf(withCrs(data.tiles.reports), {
    vectorTileLayerStyles: { reports: pointStyle, clusters: clusterStyle },
    interactive: true, maxNativeZoom: 22, maxZoom: 22,
    getFeatureId: function (f) { return f.properties.id; }
  });

  function reportPopup(r) {
    var box = el("div", "hazard-popup");
    box.appendChild(row(labels.category, r.category_name));
    box.appendChild(row(labels.status, r.status_label));
    box.appendChild(row(labels.committee, r.committee && r.committee.name));
    box.appendChild(row(labels.created, r.created_local));
    box.appendChild(el("p", "desc", r.description));
    var thumb = r.thumbnails && r.thumbnails[0];
    if (thumb && SAFE_URL.test(thumb)) {
      var img = el("img");
      img.src = thumb;
      img.alt = labels.photo;
      box.appendChild(img);
    }
    var link = el("a", null, labels.detail);
    link.href = data.reportPage.replace("ID", encodeURIComponent(r.id));
    box.appendChild(link);
    return box;
  }

  function openReport(id, latlng) {
    var popup = L.popup({ maxWidth: 280, minWidth: 200 }).setLatLng(latlng)
      .setContent(el("div", "hazard-popup", labels.loading)).openOn(map);
    fetch(data.reportApi.replace("ID", encodeURIComponent(id)), { credentials: "same-origin",
                                                                   headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (r) { popup.setContent(reportPopup(r)); })
      .catch(function () { popup.setContent(el("div", "hazard-popup", labels.load_failed)); });
  }

  reports.on("click", function (e) {
    var p = e.layer.properties;
    if (p.id) { openReport(p.id, e.latlng); return; }
    map.setView(e.latlng, Math.min(map.getZoom() + 2, map.getMaxZoom()));  // a cluster: zoom in on it
  });
  reports.on("mouseover", function (e) {
    var p = e.layer.properties;
    if (p.count === undefined) return;
    var box = el("div");
    box.appendChild(row(labels.count, p.count));
    if (p.overdue !== undefined) box.appendChild(row(labels.overdue, p.overdue));  // per-committee counts have none
    box.appendChild(el("div", null, labels.zoom_in));
    L.tooltip({ sticky: true }).setLatLng(e.latlng).setContent(box).openOn(map);
  });

  // --- committees: a choropleth of overdue reports (open but none overdue: pale), scoped like every query ---
  var SHADES = data.committeeShades;
  function shade(p) {
    if (!p.overdue) return p.open ? SHADES.open : SHADES.none;
    var colour = SHADES.overdue[0][1];
    SHADES.overdue.forEach(function (g) { if (p.overdue >= g[0]) colour = g[1]; });
    return colour;
  }
  var committees = L.vectorGrid.protobuf(withCrs(data.tiles.committees), {
    vectorTileLayerStyles: {
      committees: function (p) {
        return { weight: 1, color: "#37474f", fill: true, fillColor: shade(p), fillOpacity: 0.55,
                 className: "hazard-committee" };
      }
    },
    interactive: true, maxNativeZoom: 22, maxZoom: 22
  });
  committees.on("click", function (e) {
    var p = e.layer.properties, box = el("div");
    box.appendChild(row(labels.committee, p.name));
    box.appendChild(row(labels.code, p.code));
    box.appendChild(row(labels.open, p.open));
    box.appendChild(row(labels.overdue, p.overdue));
    var list = el("a", "hazard-committee-list", labels.committee_list);  // its queue, narrowed to it
    list.href = data.committeeList.replace("CODE", encodeURIComponent(p.code));
    box.appendChild(list);
    L.popup().setLatLng(e.latlng).setContent(box).openOn(map);
  });

  // --- town outlines: drawn over the committees, not clickable ---
  var towns = L.vectorGrid.protobuf(withCrs(data.tiles.towns), {
    vectorTileLayerStyles: {
      towns: function () { return { weight: 3, color: "#263238", fill: false, className: "hazard-town" }; }
    },
    interactive: false, maxNativeZoom: 22, maxZoom: 22
  });

  // --- heat: weighted points the server counts for the view (per committee or per grid cell) ---
  var heat = L.heatLayer([], { radius: 25, blur: 20, minOpacity: 0.3 });
  var heatRequest = 0;
  function refreshHeat() {
    if (!map.hasLayer(heat)) return;
    var b = map.getBounds(), ask = ++heatRequest;
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
    var url = withCrs(data.heat);
    url += (url.indexOf("?") < 0 ? "?" : "&") + "bbox=" + bbox.join(",") + "&z=" + map.getZoom();
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (h) {
        if (ask !== heatRequest) return;  // a later view already asked
        heat.setOptions({ max: Math.max(1, h.max) });
        heat.setLatLngs(h.points);
      })
      .catch(function () { heat.setLatLngs([]); });
  }
  map.on("moveend overlayadd", refreshHeat);

  committees.addTo(map);
  towns.addTo(map);
  reports.addTo(map);
  var bases = {}, overlays = {};
  data.bases.forEach(function (b) { if (window[b[0]]) bases[b[1]] = window[b[0]]; });
  overlays[labels.areas] = committees;
  overlays[labels.towns] = towns;
  overlays[labels.reports] = reports;
  overlays[labels.heat] = heat;
  L.control.layers(data.bases.length > 1 ? bases : null, overlays, { collapsed: false }).addTo(map);
  map.on("baselayerchange", function (e) {
    data.bases.forEach(function (b) { if (window[b[0]] === e.layer) crs = b[2]; });
    reports.setUrl(withCrs(data.tiles.reports));
    committees.setUrl(withCrs(data.tiles.committees));
    towns.setUrl(withCrs(data.tiles.towns));
    refreshHeat();
  });

  // --- legend: exactly what the layers draw, from the same settings ---
  var legend = el("aside", "hazard-legend");  // a landmark of its own, as is the filter form (role search)
  legend.setAttribute("aria-label", labels.legend);
  legend.tabIndex = 0;  // it may scroll on a short screen: a keyboard must reach it
  var group = legend;  // entries go into the current two-column group
  function columns() {
    group = el("div", "hazard-columns");
    legend.appendChild(group);
  }
  function entry(colour, text, kind) {
    var line = el("div"), mark = el("i", kind || null);
    mark.style.background = colour;
    line.appendChild(mark);
    line.appendChild(document.createTextNode(text));
    group.appendChild(line);
    return mark;
  }
  function range(from, next) {
    return next === undefined ? "≥ " + from : (from === next - 1 ? String(from) : from + "–" + (next - 1));
  }
  legend.appendChild(el("b", null, labels.singles));
  columns();
  entry(data.overdueColour, labels.overdue);
  data.legend.forEach(function (item) { entry(item[1], item[0]); });
  legend.appendChild(el("b", null, labels.clusters));
  columns();
  [labels.no_overdue, labels.some_overdue, labels.most_overdue].forEach(function (text, i) {
    entry(data.clusterShades[i][1], text);
  });
  var sizes = el("div", "hazard-sizes");
  sizes.appendChild(document.createTextNode(labels.sizes + " "));
  data.sizes.forEach(function (s, i) {
    var ring = el("span", "hazard-size"), next = data.sizes[i + 1];
    ring.style.width = ring.style.height = Math.round(s[1] * 2 * 0.5) + "px";  // half the drawn size
    ring.setAttribute("aria-hidden", "true");
    sizes.appendChild(ring);
    sizes.appendChild(document.createTextNode(range(s[0], next && next[0]) + " "));
  });
  legend.appendChild(sizes);
  legend.appendChild(el("b", null, labels.choropleth));
  columns();
  entry(SHADES.none, labels.no_open, "square");
  entry(SHADES.open, labels.open_only, "square");
  SHADES.overdue.forEach(function (g, i) {
    var next = SHADES.overdue[i + 1];
    entry(g[1], range(g[0], next && next[0]), "square");
  });
  document.body.appendChild(legend);

  function select(name, label, choices, any) {
    var wrap = el("label", null, label + " "), box = el("select");
    box.name = name;
    if (any) {
      var option = el("option", null, labels.all);
      option.value = "";
      box.appendChild(option);
    }
    choices.forEach(function (c) {
      var o = el("option", null, c[1]);
      o.value = c[0];
      box.appendChild(o);
    });
    box.value = data.filter[name] || "";
    wrap.appendChild(box);
    return wrap;
  }
  function input(name, label, type) {
    var wrap = el("label", null, label + " "), box = el("input");
    box.name = name;
    box.type = type;
    if (type === "checkbox") { box.value = "1"; box.checked = data.filter[name] === "1"; }
    else box.value = data.filter[name] || "";
    wrap.appendChild(box);
    return wrap;
  }
  var form = el("form", "hazard-filter");
  form.method = "get";
  form.id = "map-filter";
  form.setAttribute("role", "search");
  form.setAttribute("aria-label", labels.filter);
  form.appendChild(select("status", labels.status, data.choices.status, false));
  form.appendChild(select("category", labels.category, data.choices.category, true));
  form.appendChild(select("risk", labels.risk, data.choices.risk, true));
  form.appendChild(input("since", labels.since, "date"));
  form.appendChild(input("until", labels.until, "date"));
  form.appendChild(input("overdue", labels.only_overdue, "checkbox"));
  ["town", "committee"].forEach(function (k) {
    if (!data.filter[k]) return;
    var h = el("input");
    h.type = "hidden"; h.name = k; h.value = data.filter[k];
    form.appendChild(h);
  });
  form.appendChild(el("button", null, labels.apply));
  form.addEventListener("submit", function () {  // drop empty fields so the URL stays short
    Array.prototype.forEach.call(form.elements, function (f) { if (f.name && !f.value) f.disabled = true; });
  });
  L.DomEvent.disableClickPropagation(form);
  document.body.appendChild(form);
})();
