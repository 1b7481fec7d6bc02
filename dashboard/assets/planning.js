/* Leaflet styles of the Planning page (dashboard.planning.layout), called by dash-leaflet's
 * "variable" props. Each unit's territory comes from the server in the unit layer's hideout
 * (a number per unit), so a what-if move repaints without sending the units again.
 * Tooltips are text, never HTML: names are data. */
window.gcrmPlanning = Object.assign({}, window.gcrmPlanning, {
  territoryOf: function (feature, hideout) {
    var h = hideout || {};
    return (h.territory || {})[feature.id];
  },
  /* A unit: its territory's colour; outlined dark and dashed when a pending move changed it. */
  unitStyle: function (feature, context) {
    var h = (context && context.hideout) || {};
    var palette = h.palette || [];
    var t = window.gcrmPlanning.territoryOf(feature, h);
    var moved = (h.moved || []).indexOf(feature.id) >= 0;
    return {
      className: "pl-unit pl-unit-" + feature.properties.code,
      fillColor: t && palette.length ? palette[(t - 1) % palette.length] : "#d9d9d9",
      fillOpacity: moved ? 0.85 : 0.6,
      color: moved ? "#111827" : "#ffffff",
      weight: moved ? 2.5 : 0.8,
      dashArray: moved ? "3 3" : null,
      opacity: 1,
    };
  },
  /* Unit, territory, customers, revenue: read when shown, so it follows the moves. */
  unitTooltip: function (feature, layer, context) {
    layer.bindTooltip(function () {
      var h = (context && context.hideout) || {};
      var t = window.gcrmPlanning.territoryOf(feature, h);
      var p = feature.properties || {};
      var label = document.createElement("span");
      label.className = "pl-unit-tooltip";
      label.textContent = [p.code + (p.name ? " " + p.name : ""),
        "territory " + (t || "-"), p.facts || ""].join(" · ");
      return label;
    }, { sticky: true });
  },
  /* The borders between territories, over their units. */
  outlineStyle: function () {
    return { className: "pl-outline", color: "#1f2937", weight: 2.5, opacity: 0.9 };
  },
  /* The units a comparison moves: a red dashed ring. */
  diffStyle: function () {
    return { className: "pl-diff-unit", color: "#d7301f", weight: 3, dashArray: "5 3",
      fill: true, fillColor: "#d7301f", fillOpacity: 0.15 };
  },
});
