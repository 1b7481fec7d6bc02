/* Leaflet style and marker functions for the gcrm dashboard (dash-leaflet "variable" props).
 * dash-leaflet calls each with the layer's props (hideout included) as the last argument. */
window.gcrm = Object.assign({}, window.gcrm, {
  /* Choropleth: colours per area id come from the server in hideout.colors. */
  areaStyle: function (feature, context) {
    var h = (context && context.hideout) || {};
    var colors = h.colors || {};
    var selected = h.selected && h.selected === feature.id;
    return {
      className: "gcrm-area gcrm-area-" + feature.properties.code,
      fillColor: colors[feature.id] || "#d9d9d9",
      fillOpacity: selected ? 0.9 : 0.75,
      color: selected ? "#d7301f" : "#ffffff",
      weight: selected ? 4 : 1.2,
      opacity: 1,
    };
  },
  /* Area tooltips (name, value, source and vintage of a statistic) come from the server in
   * hideout.tooltips; read when shown, so they follow the measure and period. Text, never
   * HTML: names are data. */
  areaTooltip: function (feature, layer, context) {
    layer.bindTooltip(function () {
      var h = (context && context.hideout) || {};
      var tips = h.tooltips || {};
      var label = document.createElement("span");
      label.className = "gcrm-area-tooltip";
      label.textContent = String(tips[feature.id] || feature.properties.name || "");
      return label;
    }, { sticky: true });
  },
  hoverStyle: function () {
    return { weight: 3, color: "#1f2937" };
  },
  /* Customer points are coloured by a property when hideout.colourBy names one
   * (e.g. geocode_precision), with the palette sent by the server in hideout.colors. */
  pointToLayer: function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var kind = h.kind || "customers";
    var color = kind === "leads" ? "#e6550d" : "#6a3d9a";
    if (kind === "customers" && h.colourBy === "precision") {
      var precision = feature.properties && feature.properties.geocode_precision;
      color = (h.colors && h.colors[precision]) || h.other || "#737373";
    }
    var marker = L.circleMarker(latlng, {
      radius: 5, color: "#ffffff", weight: 1, fillColor: color, fillOpacity: 0.95,
    });
    if (feature.properties && feature.properties.tooltip) {
      // Leaflet inserts a string tooltip as HTML; names are data (from OSM or a CRM), so the
      // tooltip gets an element whose text is set, never parsed.
      var label = document.createElement("span");
      label.textContent = String(feature.properties.tooltip);
      marker.bindTooltip(label);
    }
    return marker;
  },
  clusterToLayer: function (feature, latlng, index, context) {
    var kind = (context && context.hideout && context.hideout.kind) || "customers";
    var count = feature.properties.point_count;
    var size = count < 50 ? 30 : count < 500 ? 38 : 46;
    var icon = L.divIcon({
      html: "<div><span>" + feature.properties.point_count_abbreviated + "</span></div>",
      className: "gcrm-cluster gcrm-cluster-" + kind,
      iconSize: L.point(size, size),
    });
    return L.marker(latlng, { icon: icon });
  },
});
