// Get a photo ready to send: read its EXIF facts with exifr, shrink it to the public size and hash the
// original with SubtleCrypto, so a 4 MB camera photo goes up as ~0.5 MB without losing what it proves.
// The server checks the facts like device fields (service/photos/phone.py). A photo the browser
// cannot decode (often HEIC) or that would not get smaller goes up unchanged. window.HazardPhotoPrep.
(function (root) {
  "use strict";
  var MAX_SIDE = 2048, QUALITY = 0.85;  // the server's public size (service/photos/decode.py)

  function exifFacts(file) {
    if (!root.exifr) return Promise.resolve({});
    // Raw values: the time as the camera wrote it ("YYYY:MM:DD HH:MM:SS", no zone), numbers for the rest.
    return root.exifr.parse(file, { reviveValues: false, translateValues: false })
      .then(function (t) { return t || {}; }, function () { return {}; });
  }

  function decode(file) {
    // createImageBitmap turns the picture upright by its EXIF orientation, as <img> does.
    if (!root.createImageBitmap) return Promise.reject(new Error("no createImageBitmap"));
    return root.createImageBitmap(file, { imageOrientation: "from-image" });
  }

  function shrink(bitmap) {
    var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) bitmap.close();
    // A canvas re-encode writes no metadata: no GPS, serial number or XMP leaves the phone in the photo.
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) { return blob ? resolve(blob) : reject(new Error("toBlob")); },
        "image/jpeg", QUALITY);
    });
  }

  function sha256(file) {
    return file.arrayBuffer().then(function (buf) { return root.crypto.subtle.digest("SHA-256", buf); })
      .then(function (digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function (b) {
          return (b < 16 ? "0" : "") + b.toString(16);
        }).join("");
      });
  }

  function text(value) { return value === undefined || value === null ? "" : String(value); }

  function unchanged(file) {
    return { blob: file, name: file.name || "photo.jpg", facts: null };
  }

  // prepare(file, resize) -> Promise<{blob, name, facts}>: facts is null for a photo sent as taken.
  function prepare(file, resize) {
    var subtle = root.crypto && root.crypto.subtle;  // only in secure contexts (HTTPS, localhost)
    if (!resize || !subtle) return Promise.resolve(unchanged(file));
    return decode(file).then(function (bitmap) {
      var small = Math.max(bitmap.width, bitmap.height) <= MAX_SIDE;
      return shrink(bitmap).then(function (blob) {
        if (small && blob.size >= file.size) return unchanged(file);
        return Promise.all([exifFacts(file), sha256(file)]).then(function (r) {
          var t = r[0], gps = typeof t.latitude === "number" && typeof t.longitude === "number";
          return {
            blob: blob,
            name: (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg",
            facts: {
              photo_original_sha256: r[1], photo_original_bytes: String(file.size),
              photo_exif_lon: gps ? String(t.longitude) : "", photo_exif_lat: gps ? String(t.latitude) : "",
              photo_exif_taken_at: text(t.DateTimeOriginal || t.ModifyDate),
              photo_exif_orientation: text(t.Orientation)
            }
          };
        });
      });
    }).catch(function () { return unchanged(file); });  // undecodable here (HEIC): the server reads it
  }

  root.HazardPhotoPrep = { prepare: prepare, MAX_SIDE: MAX_SIDE };
})(window);
