// The /docs page: Swagger UI (swagger-ui-dist, served by the API) over /openapi.json.
interface SwaggerUi {
  (options: Record<string, unknown>): unknown;
  presets: { apis: unknown };
}

const ui = (window as unknown as { SwaggerUIBundle?: SwaggerUi }).SwaggerUIBundle;
if (ui) {
  ui({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [ui.presets.apis],
    layout: 'BaseLayout',
    // The document is served by this API; no validator badge calls out to another site.
    validatorUrl: null,
  });
}
