// The mobile report page: up to 3 photos (shrunk on the phone by photo_prep.js unless the server keeps full
// size), the device position or a point picked on a map, and sending through the outbox (outbox.js) with
// progress per photo, a list of reports waiting on this phone and the receipt. The service worker (sw.js)
// lets the page open with no signal. Messages come translated in the form's data-msg-*.
(function () {
  "use strict";
  var MAX_PHOTOS = 3;
  var MAX_ZOOM = 21;  // zoom past the tiles' own maximum (scaled tiles) to place a pin within centimetres
  var MINHANG = [31.11, 121.38];  // WGS-84 [lat, lon]: where the map opens without a device position

  function $(id) { return document.getElementById(id); }
  var form = $("report-form"), msg = form.dataset, button = $("submit"), result = $("result");
  // Tile URLs come from the server's configuration, which the Content-Security-Policy also allows.
  var OSM_URL = msg.tilesWgs84, AMAP_URL = msg.tilesGcj02;
  var clientId = $("client_report_id");

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "r-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  clientId.value = newClientId();

  function show(text, kind) {
    result.textContent = text;
    result.className = kind;  // "ok", "warn" or "error"
  }

  if (navigator.serviceWorker && msg.sw) navigator.serviceWorker.register(msg.sw).catch(function () {});

  // --- photos: collected over several picks (a phone camera returns one photo per pick), each got ready
  // (EXIF read, shrunk, hashed) while the rest of the form is filled in ---
  var photos = [];  // {file, ready: Promise<{blob, name, facts}>}
  var photoInput = $("photo"), preview = $("preview"), photoStatus = $("photo-status");

  function renderPreviews() {
    Array.prototype.forEach.call(preview.querySelectorAll("img"), function (img) { URL.revokeObjectURL(img.src); });
    preview.textContent = "";
    photos.forEach(function (photo, i) {
      var figure = document.createElement("figure"), img = document.createElement("img");
      var remove = document.createElement("button");
      img.src = URL.createObjectURL(photo.file);
      img.alt = "";
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", msg.msgRemovePhoto.replace("{n}", i + 1));
      remove.addEventListener("click", function () { photos.splice(i, 1); renderPreviews(); photoInput.focus(); });
      figure.appendChild(img);
      figure.appendChild(remove);
      preview.appendChild(figure);
    });
    preview.hidden = photos.length === 0;
  }

  photoInput.addEventListener("change", function () {
    var chosen = Array.prototype.slice.call(photoInput.files);
    photoInput.value = "";  // so that choosing the same file again fires "change" again
    if (photos.length + chosen.length > MAX_PHOTOS) { photoStatus.textContent = msg.msgTooMany; return; }
    photoStatus.textContent = "";
    photos = photos.concat(chosen.map(function (file) {
      return { file: file, ready: window.HazardPhotoPrep.prepare(file, msg.resize === "1") };
    }));
    renderPreviews();
  });

  // --- category and its optional subtype ---
  var category = $("category"), sub = $("subcategory");
  var subOptions = Array.prototype.slice.call(sub.options, 1);  // all subtypes, each with data-category
  function syncSubcategory() {
    sub.length = 1;  // keep only the "optional" placeholder
    subOptions.forEach(function (o) { if (o.dataset.category === category.value) sub.appendChild(o); });
    sub.value = "";
    $("subcategory-field").hidden = sub.length === 1;
  }
  category.addEventListener("change", syncSubcategory);
  syncSubcategory();

  // --- location: the device's WGS-84 fix, or a point picked on the map ---
  var geoStatus = $("geo-status");
  var deviceFix = null;  // {lon, lat, accuracy}, WGS-84
  var mapMode = false;

  function setLocation(lon, lat, accuracy, crs, source) {
    $("lon").value = lon;
    $("lat").value = lat;
    $("accuracy_m").value = accuracy;
    $("crs").value = crs;
    $("location_source").value = source;
  }

  function useDeviceFix() {
    if (deviceFix) setLocation(deviceFix.lon, deviceFix.lat, Math.round(deviceFix.accuracy), "wgs84", "device");
    else setLocation("", "", "", "wgs84", "device");  // the server falls back to the photo's GPS
  }

  function locate() {
    if (!navigator.geolocation) { geoStatus.textContent = msg.msgNoGeo; return; }
    geoStatus.textContent = msg.msgLocating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      deviceFix = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy };
      if (!mapMode) useDeviceFix();
      geoStatus.textContent = msg.msgLocated.replace("{m}", Math.round(pos.coords.accuracy));
    }, function () { geoStatus.textContent = msg.msgNoGeo; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  // --- map picking: OSM tiles are WGS-84, AMap tiles GCJ-02; the marker holds the shown tiles' system ---
  var map = null, marker = null, layers = null, basemap = "osm", picked = null;
  var C = window.HazardCoords;

  function toGcj(ll) { var p = C.wgs84ToGcj02(ll.lng, ll.lat); return L.latLng(p[1], p[0]); }
  function toWgs(ll) { var p = C.gcj02ToWgs84(ll.lng, ll.lat); return L.latLng(p[1], p[0]); }
  function checkedBasemap() { return form.querySelector("input[name=basemap]:checked").value; }

  // Send the picked point as shown: GCJ-02 when picked on AMap, WGS-84 on OSM.
  function usePick() {
    var crs = basemap === "amap" ? "gcj02" : "wgs84";
    setLocation(picked.lng.toFixed(7), picked.lat.toFixed(7), "", crs, "map");
    $("map-coords").textContent = msg.msgPicked.replace("{lat}", picked.lat.toFixed(6))
      .replace("{lon}", picked.lng.toFixed(6)).replace("{crs}", crs === "gcj02" ? "GCJ-02" : "WGS-84");
  }

  function place(latlng) {
    picked = latlng.wrap();
    if (marker) marker.setLatLng(picked);
    else {
      marker = L.marker(picked, { draggable: true, title: msg.msgMarker, alt: msg.msgMarker }).addTo(map);
      marker.on("dragend", function () { picked = marker.getLatLng().wrap(); usePick(); });
    }
    usePick();
  }

  function createMap() {
    basemap = checkedBasemap();  // the browser may have restored the radio on reload
    var start = deviceFix ? L.latLng(deviceFix.lat, deviceFix.lon) : L.latLng(MINHANG[0], MINHANG[1]);
    if (basemap === "amap") start = toGcj(start);
    map = L.map("pick-map", { zoomControl: false }).setView(start, deviceFix ? 17 : 13);
    L.control.zoom({ zoomInTitle: msg.msgZoomIn, zoomOutTitle: msg.msgZoomOut }).addTo(map);
    layers = {
      osm: L.tileLayer(OSM_URL, { maxNativeZoom: 19, maxZoom: MAX_ZOOM, attribution: msg.creditWgs84 }),
      amap: L.tileLayer(AMAP_URL, { subdomains: "1234", maxNativeZoom: 18, maxZoom: MAX_ZOOM,
        attribution: msg.creditGcj02 })
    };
    layers[basemap].addTo(map);
    map.on("click", function (e) { place(e.latlng); });
    // Keyboard users move the map with the arrow keys, then press Enter to pick its centre.
    map.on("keypress", function (e) { if (e.originalEvent.key === "Enter") place(map.getCenter()); });
    window.hazardMap = map;  // for tests and debugging
  }

  // Switch tiles and keep the view and the marker on the same ground spot.
  function setBasemap(name) {
    if (name === basemap) return;
    var convert = name === "amap" ? toGcj : toWgs;
    map.removeLayer(layers[basemap]);
    layers[name].addTo(map);
    basemap = name;
    map.setView(convert(map.getCenter()), map.getZoom(), { animate: false });
    if (picked) { picked = convert(picked); marker.setLatLng(picked); usePick(); }
  }

  Array.prototype.forEach.call(form.querySelectorAll("input[name=basemap]"), function (radio) {
    radio.addEventListener("change", function () { if (radio.checked && map) setBasemap(radio.value); });
  });

  $("map-toggle").addEventListener("click", function () {
    mapMode = !mapMode;
    this.setAttribute("aria-pressed", String(mapMode));
    this.textContent = mapMode ? msg.msgMapOff : msg.msgMapOn;
    $("map-box").hidden = !mapMode;
    if (!mapMode) { useDeviceFix(); locate(); return; }
    if (!map) createMap();
    map.invalidateSize();
    if (picked) usePick();
    else setLocation("", "", "", "wgs84", "map");
  });

  // --- sending through the outbox ---
  var progress = $("progress"), progressText = $("progress-text"), outboxStatus = $("outbox-status");
  var photoProgress = $("photo-progress");

  function setProgress(percent, each) {
    progress.value = percent;
    progressText.textContent = percent + "%";
    Array.prototype.forEach.call(photoProgress.querySelectorAll("progress"), function (bar, i) {
      var p = each ? each[i] : percent;
      bar.value = p;
      bar.nextSibling.textContent = p + "%";
    });
  }

  // One bar per photo of the report on its way.
  function photoBars(count) {
    photoProgress.textContent = "";
    for (var i = 0; i < count; i++) {
      var li = document.createElement("li"), bar = document.createElement("progress");
      var label = msg.msgPhotoProgress.replace("{n}", i + 1), name = document.createElement("span");
      name.textContent = label;
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", label);
      li.appendChild(name);
      li.appendChild(bar);
      li.appendChild(document.createElement("span"));
      photoProgress.appendChild(li);
    }
  }

  // The receipt: the report's number (or its id) and, when the server gives one, the tracking link.
  function showReceipt(body) {
    var receipt = body.receipt || {}, link = $("receipt-link");
    $("receipt-number").textContent = receipt.number ? msg.msgReceiptNumber.replace("{number}", receipt.number)
      : msg.msgReceiptId.replace("{id}", body.id);
    var url = typeof receipt.tracking_url === "string" && /^(https?:\/\/|\/)/.test(receipt.tracking_url);
    link.hidden = !url;
    if (url) { link.href = receipt.tracking_url; link.textContent = msg.msgReceiptLink; }
    $("receipt").hidden = false;
  }

  // Receipts kept on this phone (localStorage), newest first, so a resident finds the tracking link later.
  var RECEIPTS_KEY = "hazard-snap-receipts", MAX_RECEIPTS = 50;

  function keptReceipts() {
    try { return JSON.parse(localStorage.getItem(RECEIPTS_KEY)) || []; } catch (e) { return []; }
  }

  function keepReceipt(body) {
    var receipt = body.receipt;
    if (!receipt || typeof receipt.tracking_url !== "string" || !/^https?:\/\//.test(receipt.tracking_url)) return;
    var kept = keptReceipts().filter(function (k) { return k.url !== receipt.tracking_url; });
    kept.unshift({ number: receipt.number, url: receipt.tracking_url, category: body.category_name, at: Date.now() });
    try { localStorage.setItem(RECEIPTS_KEY, JSON.stringify(kept.slice(0, MAX_RECEIPTS))); } catch (e) { /* full */ }
    listReceipts();
  }

  function listReceipts() {
    var list = $("receipt-list"), kept = keptReceipts();
    list.textContent = "";
    kept.forEach(function (k) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = k.url;
      a.textContent = k.number + " · " + k.category + " · " + new Date(k.at).toLocaleDateString();
      li.appendChild(a);
      list.appendChild(li);
    });
    $("receipts").hidden = kept.length === 0;
  }
  listReceipts();

  // --- reports waiting on this phone, each with a delete button ---
  var waitingList = $("waiting-list");

  function categoryName(code) {
    var option = category.querySelector('option[value="' + (code || "").replace(/["\\]/g, "") + '"]');
    return code && option ? option.textContent : msg.msgNoCategory;
  }

  function describe(item) {
    var at = new Date(item.created), time = ("0" + at.getHours()).slice(-2) + ":" + ("0" + at.getMinutes()).slice(-2);
    return msg.msgWaitingItem.replace("{category}", categoryName(item.fields.category))
      .replace("{n}", item.photos.length).replace("{time}", time);
  }

  function listWaiting(items) {
    outboxStatus.dataset.count = items.length;
    outboxStatus.textContent = msg.msgUnsent.replace("{n}", items.length);
    outboxStatus.hidden = items.length === 0;
    waitingList.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li"), text = document.createElement("span");
      var remove = document.createElement("button"), what = describe(item);
      text.textContent = what;
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = msg.msgDelete;
      remove.setAttribute("aria-label", msg.msgDeleteLabel.replace("{what}", what));
      remove.disabled = outbox.busy(item.id);
      remove.addEventListener("click", function () {
        outbox.discard(item.id).then(function (dropped) {
          if (dropped && isCurrent(item)) { show("", ""); button.disabled = false; }
        });
      });
      li.appendChild(text);
      li.appendChild(remove);
      waitingList.appendChild(li);
    });
    $("waiting").hidden = items.length === 0;
  }

  function isCurrent(item) { return item.id === clientId.value; }

  // The form's report is finished (accepted or dropped): the next one gets a new id.
  function nextReport(accepted) {
    clientId.value = newClientId();
    if (!accepted) return;
    photos = [];
    renderPreviews();
    category.value = "";
    syncSubcategory();
    $("description").value = "";
    $("address").value = "";
  }

  var outbox = window.HazardOutbox(msg.api, {
    start: function (item) {
      if (isCurrent(item)) button.disabled = true;
      $("upload").hidden = false;
      $("receipt").hidden = true;
      photoBars(item.photos.length);
      setProgress(0);
      show(msg.msgSending, "ok");
    },
    progress: function (item, percent, each) { setProgress(percent, each); },
    accepted: function (item, r) {
      setProgress(100);
      show(msg.msgDone + " " + r.body.town.name + " · " + r.body.committee.name, "ok");
      showReceipt(r.body);
      keepReceipt(r.body);
      form.dataset.reportId = r.body.id;
      if (isCurrent(item)) nextReport(true);
      button.disabled = false;
    },
    rejected: function (item, r) {
      $("upload").hidden = true;
      var text = r.body && r.body.error && r.body.error.message;
      show(text || msg.msgRejected.replace("{status}", r.status), "error");
      if (isCurrent(item)) nextReport(false);
      button.disabled = false;
    },
    kept: function (item, r) {
      $("upload").hidden = true;
      var text = r.body && r.body.error && r.body.error.message;  // e.g. a 503 or 429 that explains itself
      show(text ? text + " " + msg.msgKeptNote : msg.msgSaved, "warn");
      button.disabled = false;
    },
    list: listWaiting
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = clientId.value;
    if (outbox.busy(id)) return;  // this report is on its way already
    if (photos.length === 0) { show(msg.msgNoPhoto, "error"); return; }
    if (photos.length > MAX_PHOTOS) { show(msg.msgTooMany, "error"); return; }
    if (mapMode && !picked) { show(msg.msgPickFirst, "error"); return; }
    var fields = { client_report_id: id, category: category.value, subcategory: sub.value,
      description: $("description").value, address: $("address").value };
    ["lon", "lat", "crs", "location_source", "accuracy_m"].forEach(function (k) { fields[k] = $(k).value; });
    button.disabled = true;
    show(msg.msgPreparing, "ok");
    var csrf = document.querySelector('meta[name="csrf-token"]');
    Promise.all(photos.map(function (p) { return p.ready; })).then(function (ready) {
      show(msg.msgSending, "ok");
      // A repeat of a waiting report replaces it under the same id; the server dedupes by that id. The
      // token lets the service worker send it for a signed-in volunteer with the page closed.
      return outbox.submit({ id: id, created: Date.now(), fields: fields, photos: ready, csrf: csrf && csrf.content });
    });
  });

  locate();
})();
