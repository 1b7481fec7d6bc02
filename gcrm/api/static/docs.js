// The API docs page: Swagger UI (served from the flask-swagger-ui package, no CDN) over the
// document named by the page's data-spec-url. A file of its own, so a strict
// Content-Security-Policy (script-src 'self') allows it.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    tryItOutEnabled: false,
  });
});
