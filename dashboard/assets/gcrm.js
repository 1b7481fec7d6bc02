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
      fillOpacity: selected ? 0.8 : 0.6, /* the basemap's streets show through */
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
  /* The point layers: what the server sent for the map's view, clusters (properties.count,
   * counted in PostGIS) and single points alike. Customer points are coloured by a property
   * when hideout.colourBy names one (e.g. geocode_precision), with the palette sent by the
   * server in hideout.colors. Points carry no names: a click asks the server for one. */
  pointToLayer: function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var kind = h.kind || "customers";
    var props = feature.properties || {};
    if (props.count) {
      return window.gcrm.clusterMarker(props.count, latlng, kind);
    }
    var color = kind === "leads" ? "#e6550d" : "#6a3d9a";
    if (kind === "customers" && h.colourBy === "precision") {
      color = (h.colors && h.colors[props.geocode_precision]) || h.other || "#737373";
    }
    var marker = L.circleMarker(latlng, {
      radius: 5, color: "#ffffff", weight: 1, fillColor: color, fillOpacity: 0.95,
    });
    if (props.tooltip) {
      // Leaflet inserts a string tooltip as HTML; names are data (from OSM or a CRM), so the
      // tooltip gets an element whose text is set, never parsed.
      var label = document.createElement("span");
      label.textContent = String(props.tooltip);
      marker.bindTooltip(label);
    }
    return marker;
  },
  /* A cluster: a circle sized by its count (area ~ log of the count), labelled with the
   * count abbreviated; the exact count is in data-count. Built from numbers only. */
  clusterMarker: function (count, latlng, kind) {
    var n = Math.max(1, Math.round(Number(count) || 0));
    var size = Math.round(Math.min(60, 24 + 6 * Math.log10(n)));
    var text = n < 1000 ? String(n) : n < 1e6 ? (n / 1000).toFixed(n < 1e4 ? 1 : 0) + "k"
      : (n / 1e6).toFixed(1) + "M";
    var icon = L.divIcon({
      html: '<div><span data-count="' + n + '">' + text + "</span></div>",
      className: "gcrm-cluster gcrm-cluster-" + (kind === "leads" ? "leads" : "customers"),
      iconSize: L.point(size, size),
    });
    return L.marker(latlng, { icon: icon, title: n + " " + kind });
  },
});
/* Clientside callbacks. replaceQuery: put the view's query string (built on the server,
 * dashboard.link) in the address bar without a new history entry or a reload. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  gcrm: {
    replaceQuery: function (search) {
      if (typeof search === "string" && search !== window.location.search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search);
      }
      return search;
    },
  },
});
