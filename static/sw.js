// The report app's service worker. service/reports/offline.py serves it at /sw.js (root scope) with
// self.HAZARD_SW = {version, page, api, outbox, precache} in front of this file.
// - Install: precache the report page, its scripts and styles, the categories, Leaflet and the icons in
//   a cache named for this release; activate: delete the caches of older releases.
// - The report page: network first (fresh CSRF token and sign-in state), the cached copy when offline.
//   Precached files: from the cache. Everything else (the API, photos, map tiles) goes to the network.
// - Background Sync: send the outbox (static/outbox.js, the same store and form as the page) when the
//   network returns, even with the page closed, and tell open pages what the server answered.
/* global HAZARD_SW, HazardOutbox */
"use strict";
importScripts(HAZARD_SW.outbox);

var PREFIX = "hazard-snap-", CACHE = PREFIX + HAZARD_SW.version;
var NETWORK_WAIT_MS = 4000;  // on a link that hangs, open the saved page rather than a blank screen

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(HAZARD_SW.precache); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf(PREFIX) === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function cached(path) { return caches.open(CACHE).then(function (c) { return c.match(path); }); }

// The page from the network, saved for next time; the saved copy when the network fails or hangs.
function pageFirstFromNetwork(request) {
  return new Promise(function (resolve, reject) {
    var settled = false;
    function answer(response) { if (!settled && response) { settled = true; resolve(response); } }
    function fallback() {
      return cached(HAZARD_SW.page).then(function (r) { if (r) answer(r); else if (!settled) reject(); });
    }
    setTimeout(function () { cached(HAZARD_SW.page).then(answer); }, NETWORK_WAIT_MS);
    fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (c) { return c.put(HAZARD_SW.page, copy); });
      }
      answer(response);
    }, fallback);
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === HAZARD_SW.page) {
    event.respondWith(pageFirstFromNetwork(request));
  // Precached files from the cache; a script's own fetch of the page (a fresh CSRF token) goes to the network.
  } else if (url.pathname !== HAZARD_SW.page && HAZARD_SW.precache.indexOf(url.pathname) >= 0 && !url.search) {
    event.respondWith(cached(url.pathname).then(function (r) { return r || fetch(request); }));
  }
});

function tell(message) {
  return self.clients.matchAll({ type: "window" }).then(function (clients) {
    clients.forEach(function (c) { c.postMessage(message); });
  });
}

// Send every waiting report in order; a network failure rejects, so the browser tries the sync again later.
function sendOutbox() {
  return HazardOutbox.all().then(function (items) {
    return items.reduce(function (previous, item) {
      return previous.then(function () {
        return HazardOutbox.fetchPost(HAZARD_SW.api, item).then(function (r) {
          var done = r.outcome === "kept" ? Promise.resolve() : HazardOutbox.remove(item.id);
          return done.then(function () {
            return tell({ type: "outbox", id: item.id, outcome: r.outcome, status: r.status, body: r.body });
          }).then(function () { if (r.outcome === "kept") throw new Error("kept for a later try"); });
        });
      });
    }, Promise.resolve());
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === HazardOutbox.SYNC_TAG) event.waitUntil(sendOutbox());
});
