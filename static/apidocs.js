// The API docs page: Swagger UI (vendored) renders the description this server generates. "Try it out"
// calls go to this same server; a signed-in browser's writes carry the page's CSRF token like every page.
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.SwaggerUIBundle({
    url: box.dataset.spec,
    domNode: box,
    validatorUrl: null,  // never send the description to a third-party validator
    deepLinking: true,
    requestInterceptor: function (req) {
      if (csrf && csrf.content) req.headers["X-CSRFToken"] = csrf.content;
      return req;
    }
  });
})();
