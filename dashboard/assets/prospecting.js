/* Leaflet styles and markers of the Prospecting page (dashboard.prospecting.layout), called
 * by dash-leaflet's "variable" props. Names are data: tooltips get text, never HTML. */
window.gcrmProspecting = Object.assign({}, window.gcrmProspecting, {
  /* What the search covered: the radius, the drive-time catchment, the polygon or area. */
  reachStyle: function () {
    return { className: "pr-reach-shape", color: "#2c7fb8", weight: 2, dashArray: "6 4",
      fillColor: "#41b6c4", fillOpacity: 0.12 };
  },
  routeStyle: function () {
    return { className: "pr-route-path", color: "#d7301f", weight: 4, opacity: 0.85 };
  },
  /* A lead: orange, or red and larger when its row is selected in the table. */
  leadToLayer: function (feature, latlng) {
    var props = feature.properties || {};
    var selected = !!props.selected;
    var marker = L.circleMarker(latlng, {
      radius: selected ? 8 : 6, color: "#ffffff", weight: 1.5,
      fillColor: selected ? "#d7301f" : "#e6550d", fillOpacity: 0.95,
      className: selected ? "pr-lead pr-lead-selected" : "pr-lead",
    });
    if (props.tooltip) {
      var label = document.createElement("span");
      label.textContent = String(props.tooltip);
      marker.bindTooltip(label);
    }
    return marker;
  },
  originToLayer: function (feature, latlng) {
    return L.circleMarker(latlng, {
      radius: 9, color: "#253494", weight: 3, fillColor: "#ffffff", fillOpacity: 1,
      className: "pr-origin-marker",
    });
  },
});
