/* The map's extra layers (sidebar "Layers"): branch markers, heat cells, drive-time
 * catchments. Colours come from the server (gcrm.maps.layers) in each feature's properties;
 * names are data, so they are set as text, never parsed as HTML. */
window.gcrm = Object.assign({}, window.gcrm, {
  /* A branch: a dark square with a white building drawn in SVG (no image fetched), in the
   * branches' own pane (hideout.pane), over the clusters; its name in a tooltip. */
  branchToLayer: function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var props = feature.properties || {};
    var icon = L.divIcon({
      html: '<svg viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">' +
        '<rect x="0.5" y="0.5" width="19" height="19" rx="3" fill="#1f2937" stroke="#ffffff"/>' +
        '<path d="M4 16V8l6-4 6 4v8h-4v-4H8v4z" fill="#ffffff"/></svg>',
      className: "gcrm-branch",
      iconSize: L.point(20, 20),
      iconAnchor: L.point(10, 10),
    });
    var marker = L.marker(latlng, { icon: icon, pane: h.pane || "markerPane", keyboard: false });
    var label = document.createElement("span");
    label.className = "gcrm-branch-tooltip";
    label.textContent = String(props.name || props.code || "");
    marker.bindTooltip(label, { direction: "top", offset: L.point(0, -10) });
    return marker;
  },
  /* A heat cell: its class colour, translucent, no outline. */
  heatStyle: function (feature) {
    var props = feature.properties || {};
    return {
      className: "gcrm-heat-cell",
      fillColor: props.colour || "#fd8d3c",
      fillOpacity: 0.55,
      stroke: false,
    };
  },
  /* A catchment band: its drive time's colour, translucent; the shorter bands are drawn
   * last (the server orders them), so they stay on top. */
  catchmentStyle: function (feature) {
    var props = feature.properties || {};
    var colour = props.colour || "#fd8d3c";
    return {
      className: "gcrm-catchment gcrm-catchment-" + String(props.minutes || 0).replace(".", "_"),
      fillColor: colour,
      fillOpacity: 0.22,
      color: colour,
      weight: 1,
      opacity: 0.8,
    };
  },
});
