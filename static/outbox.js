// The outbox: reports wait in IndexedDB (db "hazard-snap", store "outbox") until the server has answered
// for them, so a report taken on a bad network is resent later with the same client_report_id (the
// server answers a repeat with the report it already has). Loaded by the report page (window.HazardOutbox,
// sending with XMLHttpRequest for upload progress) and by the service worker (sw.js, Background Sync,
// sending with fetch): both use the same store, form and rules below.
(function (root) {
  "use strict";
  var DB_NAME = "hazard-snap", STORE = "outbox", SYNC_TAG = "outbox";
  var RETRY_DELAYS_MS = [5000, 15000, 60000];  // backoff after a failed try; the last one repeats
  var TIMEOUT_MS = 120000;                      // a stalled upload counts as a network failure
  // Refusals that reloading the page or signing in will cure: keep the report rather than drop it.
  var KEEP_CODES = ["csrf", "login_required"];

  // --- storage: IndexedDB, or an in-memory map when IndexedDB is unavailable or refuses a Blob ---
  var memory = {};
  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!root.indexedDB) { reject(new Error("no IndexedDB")); return; }
        var req = root.indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id" }); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  // Run fn(store) in one transaction; resolve with the request's result once the transaction commits.
  function inStore(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), req = fn(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req.result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function put(item) {
    return inStore("readwrite", function (s) { return s.put(item); })
      .catch(function () { memory[item.id] = item; });
  }

  function remove(id) {
    delete memory[id];
    return inStore("readwrite", function (s) { return s.delete(id); }).catch(function () {});
  }

  // Every waiting item, oldest first.
  function all() {
    return inStore("readonly", function (s) { return s.getAll(); })
      .catch(function () { return []; })
      .then(function (stored) {
        var ids = stored.map(function (i) { return i.id; });
        Object.keys(memory).forEach(function (id) { if (ids.indexOf(id) < 0) stored.push(memory[id]); });
        return stored.sort(function (a, b) { return a.created - b.created; });
      });
  }

  // --- the request: the same multipart form from the page and from the service worker ---
  // item.photos holds {blob, name, facts} (photo_prep.js); an item saved by an older page holds Files.
  function parts(item) {
    return item.photos.map(function (p, i) {
      return p.blob ? p : { blob: p, name: p.name || "photo-" + (i + 1) + ".jpg", facts: null };
    });
  }

  // Fields first, then the photos: the upload progress of each photo is read from the bytes sent.
  function formData(item) {
    var data = new FormData(), photos = parts(item);
    Object.keys(item.fields).forEach(function (k) { data.append(k, item.fields[k]); });
    var withFacts = photos.filter(function (p) { return p.facts; });
    if (withFacts.length) {
      Object.keys(withFacts[0].facts).forEach(function (k) {
        photos.forEach(function (p) { data.append(k, p.facts ? p.facts[k] : ""); });
      });
    }
    photos.forEach(function (p) { data.append("photo", p.blob, p.name); });
    return data;
  }

  function photoBytes(item) { return parts(item).map(function (p) { return p.blob.size; }); }

  // What the answer means for the item: "accepted" | "rejected" (dropped) | "kept" (tried again later).
  function outcome(status, body) {
    var code = body && body.error && body.error.code;
    // Only a JSON report counts as accepted: a captive portal's 200 page must not drop the report.
    if ((status === 200 || status === 201) && body && body.id) return "accepted";
    // Any other 4xx will never succeed; 408 and 429 are worth another try.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429 && KEEP_CODES.indexOf(code) < 0) {
      return "rejected";
    }
    return "kept";
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function csrfToken(item) {
    var meta = root.document && root.document.querySelector('meta[name="csrf-token"]');
    return (meta && meta.content) || item.csrf || "";  // checked for signed-in volunteers
  }

  // One XMLHttpRequest per try, so upload progress can be shown: onProgress(percent, [percent per photo]).
  // Resolves with {outcome, status, body}.
  function post(api, item, onProgress) {
    return new Promise(function (resolve) {
      var sizes = photoBytes(item), xhr = new XMLHttpRequest();
      xhr.open("POST", api);
      xhr.timeout = TIMEOUT_MS;
      xhr.setRequestHeader("Accept", "application/json");
      var token = csrfToken(item);
      if (token) xhr.setRequestHeader("X-CSRFToken", token);
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable || e.total <= 0) return;
        var sent = e.loaded - (e.total - sizes.reduce(function (a, b) { return a + b; }, 0));
        onProgress(Math.round(100 * e.loaded / e.total), sizes.map(function (size) {
          var mine = Math.max(0, Math.min(size, sent));
          sent -= size;
          return Math.round(100 * mine / size);
        }));
      };
      xhr.upload.onload = function () { onProgress(100, sizes.map(function () { return 100; })); };
      xhr.onload = function () {
        var body = parse(xhr.responseText);
        resolve({ outcome: outcome(xhr.status, body), status: xhr.status, body: body });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        resolve({ outcome: "kept", status: 0, body: null });
      };
      xhr.send(formData(item));
    });
  }

  // The service worker's way: fetch, no progress. Resolves like post().
  function fetchPost(api, item) {
    var headers = { Accept: "application/json" };
    if (item.csrf) headers["X-CSRFToken"] = item.csrf;
    return fetch(api, { method: "POST", body: formData(item), headers: headers, credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (text) {
          var body = parse(text);
          return { outcome: outcome(r.status, body), status: r.status, body: body };
        });
      }, function () { return { outcome: "kept", status: 0, body: null }; });
  }

  // A page opened from the worker's cache may carry a token its session no longer accepts: read the token of a
  // fresh copy of the page (which the worker also saves). Resolves true when the token changed.
  function refreshToken() {
    var meta = root.document.querySelector('meta[name="csrf-token"]');
    return fetch(root.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector('meta[name="csrf-token"]');
        if (!meta || !fresh || !fresh.content || fresh.content === meta.content) return false;
        meta.content = fresh.content;
        return true;
      }).catch(function () { return false; });
  }

  function refusedToken(r) { return r.status === 400 && r.body && r.body.error && r.body.error.code === "csrf"; }

  // Ask the service worker to send the outbox when the network returns, even with the page closed.
  function requestSync() {
    var sw = root.navigator && root.navigator.serviceWorker;
    if (!sw || !root.SyncManager) return;
    sw.ready.then(function (reg) { return reg.sync.register(SYNC_TAG); }).catch(function () {});
  }

  // HazardOutbox(api, hooks): hooks are start(item), progress(item, percent, perPhoto), list(items) and,
  // with the answer r = {status, body} (status 0 for a network failure or timeout): accepted(item, r) when
  // the server has the report, rejected(item, r) when it refused it for good (the item is dropped), and
  // kept(item, r) when the item stays in the outbox for another try.
  function HazardOutbox(api, hooks) {
    var inflight = {};           // client_report_id -> true while its request is open
    var running = null, again = false, timer = null, failures = 0;
    function hook(name) {
      return hooks[name] ? hooks[name].apply(null, [].slice.call(arguments, 1)) : undefined;
    }
    function relist() { return all().then(function (items) { hook("list", items); }); }

    function sendOne(item) {
      if (inflight[item.id]) return Promise.resolve("busy");
      inflight[item.id] = true;
      hook("start", item);
      function send() { return post(api, item, function (p, each) { hook("progress", item, p, each); }); }
      return send().then(function (r) {
        if (!refusedToken(r)) return r;
        return refreshToken().then(function (fresh) { return fresh ? send() : r; });  // once, with a new token
      }).then(function (r) {
        var done = r.outcome === "kept" ? Promise.resolve() : remove(item.id);
        return done.then(function () {
          delete inflight[item.id];
          hook(r.outcome, item, r);
          return relist().then(function () { return r.outcome; });
        });
      });
    }

    // Send the waiting items one after another; stop at the first network failure and retry later.
    function flush() {
      if (running) { again = true; return running; }
      clearTimeout(timer);
      timer = null;
      running = all().then(function (items) {
        var i = 0;
        function next() {
          if (i >= items.length) return true;
          return sendOne(items[i++]).then(function (outcome) { return outcome === "kept" ? false : next(); });
        }
        return next();
      }).catch(function () {
        return false;  // a failing hook must not leave the outbox stuck as "running"
      }).then(function (emptied) {
        running = null;
        if (again) { again = false; return flush(); }
        if (emptied) { failures = 0; return; }
        timer = setTimeout(flush, RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)]);
        failures += 1;
      });
      return running;
    }

    root.addEventListener("online", function () { failures = 0; flush(); });
    var sw = root.navigator.serviceWorker;
    if (sw) {  // the service worker sent something (Background Sync): show its answer
      sw.addEventListener("message", function (e) {
        var m = e.data || {};
        if (m.type !== "outbox") return;
        if (m.outcome !== "kept") hook(m.outcome, { id: m.id }, { status: m.status, body: m.body });
        relist();
      });
    }
    relist().then(flush);  // reports left from an earlier visit go out now

    return {
      // Store the item (replacing a waiting one with the same id), then send everything waiting.
      submit: function (item) {
        return put(item).then(function () { requestSync(); return relist(); }).then(flush);
      },
      // Drop a waiting report the person no longer wants sent (not while it is on its way).
      discard: function (id) {
        if (inflight[id]) return Promise.resolve(false);
        return remove(id).then(relist).then(function () { return true; });
      },
      busy: function (id) { return !!inflight[id]; },
      flush: flush
    };
  }

  HazardOutbox.all = all;
  HazardOutbox.remove = remove;
  HazardOutbox.fetchPost = fetchPost;
  HazardOutbox.SYNC_TAG = SYNC_TAG;
  root.HazardOutbox = HazardOutbox;
})(self);
