// The outbox: reports wait in IndexedDB (db "hazard-snap", store "outbox") until the server has answered
// for them, so a report taken on a bad network is resent later with the same client_report_id (the
// server answers a repeat with the report it already has). Used by report.js as window.HazardOutbox.
(function (root) {
  "use strict";
  var DB_NAME = "hazard-snap", STORE = "outbox";
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

  // --- sending: one XMLHttpRequest per try, so upload progress can be shown ---
  // Resolves with {outcome: "accepted" | "rejected" | "kept", status, body}.
  function post(api, item, onProgress) {
    return new Promise(function (resolve) {
      var data = new FormData();
      Object.keys(item.fields).forEach(function (k) { data.append(k, item.fields[k]); });
      item.photos.forEach(function (p, i) { data.append("photo", p, p.name || "photo-" + (i + 1) + ".jpg"); });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", api);
      xhr.timeout = TIMEOUT_MS;
      xhr.setRequestHeader("Accept", "application/json");
      var csrf = document.querySelector('meta[name="csrf-token"]');  // checked for signed-in volunteers
      if (csrf && csrf.content) xhr.setRequestHeader("X-CSRFToken", csrf.content);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && e.total > 0) onProgress(Math.round(100 * e.loaded / e.total));
      };
      xhr.upload.onload = function () { onProgress(100); };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        var s = xhr.status, outcome = "kept", code = body && body.error && body.error.code;
        // Only a JSON report counts as accepted: a captive portal's 200 page must not drop the report.
        if ((s === 200 || s === 201) && body && body.id) outcome = "accepted";
        // Any other 4xx will never succeed; 408 and 429 are worth another try.
        else if (s >= 400 && s < 500 && s !== 408 && s !== 429 && KEEP_CODES.indexOf(code) < 0) {
          outcome = "rejected";
        }
        resolve({ outcome: outcome, status: s, body: body });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        resolve({ outcome: "kept", status: 0, body: null });
      };
      xhr.send(data);
    });
  }

  // HazardOutbox(api, hooks): hooks are start(item), progress(item, percent), count(n) and, with the
  // answer r = {status, body} (status 0 for a network failure or timeout): accepted(item, r) when the
  // server has the report, rejected(item, r) when it refused it for good (the item is dropped), and
  // kept(item, r) when the item stays in the outbox for another try.
  function HazardOutbox(api, hooks) {
    var inflight = {};           // client_report_id -> true while its request is open
    var running = null, again = false, timer = null, failures = 0;
    function hook(name) {
      return hooks[name] ? hooks[name].apply(null, [].slice.call(arguments, 1)) : undefined;
    }
    function recount() { return all().then(function (items) { hook("count", items.length); }); }

    function sendOne(item) {
      if (inflight[item.id]) return Promise.resolve("busy");
      inflight[item.id] = true;
      hook("start", item);
      return post(api, item, function (p) { hook("progress", item, p); }).then(function (r) {
        var done = r.outcome === "kept" ? Promise.resolve() : remove(item.id);
        return done.then(function () {
          delete inflight[item.id];
          hook(r.outcome, item, r);
          return recount().then(function () { return r.outcome; });
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
    recount().then(flush);  // reports left from an earlier visit go out now

    return {
      // Store the item (replacing a waiting one with the same id), then send everything waiting.
      submit: function (item) { return put(item).then(recount).then(flush); },
      busy: function (id) { return !!inflight[id]; },
      flush: flush
    };
  }

  root.HazardOutbox = HazardOutbox;
})(window);
