// WGS-84 <-> GCJ-02 (the offset system of AMap/Gaode tiles), ported from geo/coords.py.
// GCJ-02 = WGS-84 + an obfuscating offset of a few hundred metres inside China. It has no closed-form
// inverse, so gcj02ToWgs84 iterates like the server does: subtract the residual of the forward transform
// until it reproduces the input (the one-step inverse errs by up to ~2 m in Minhang).
(function (root) {
  "use strict";
  var A = 6378245.0;                    // Krasovsky 1940 semi-major axis
  var EE = 0.00669342162296594323;      // ... and its eccentricity squared
  var PI = Math.PI;
  var TOLERANCE_DEG = 1e-11, MAX_ITERATIONS = 30;

  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  // The GCJ-02 offset [dlon, dlat] in degrees at a WGS-84 point (zero outside China).
  function delta(lon, lat) {
    if (outOfChina(lon, lat)) return [0, 0];
    var x = lon - 105.0, y = lat - 35.0, sqrtAbsX = Math.sqrt(Math.abs(x));
    var common = (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    var dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrtAbsX + common;
    dlat += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    dlat += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    var dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrtAbsX + common;
    dlon += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    dlon += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    var radLat = lat / 180 * PI;
    var magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat), sqrtMagic = Math.sqrt(magic);
    dlat = (dlat * 180) / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
    dlon = (dlon * 180) / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [dlon, dlat];
  }

  // [lon, lat] WGS-84 -> [lon, lat] GCJ-02.
  function wgs84ToGcj02(lon, lat) {
    var d = delta(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  // [lon, lat] GCJ-02 -> [lon, lat] WGS-84 by fixed-point iteration (identity outside China).
  function gcj02ToWgs84(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var d = delta(lon, lat), est = [lon - d[0], lat - d[1]];
    for (var i = 0; i < MAX_ITERATIONS; i++) {
      var fwd = wgs84ToGcj02(est[0], est[1]);
      var errLon = fwd[0] - lon, errLat = fwd[1] - lat;
      est = [est[0] - errLon, est[1] - errLat];
      if (!(Math.max(Math.abs(errLon), Math.abs(errLat)) >= TOLERANCE_DEG)) break;  // NaN stops too
    }
    return est;
  }

  root.HazardCoords = { wgs84ToGcj02: wgs84ToGcj02, gcj02ToWgs84: gcj02ToWgs84, outOfChina: outOfChina };
})(window);
