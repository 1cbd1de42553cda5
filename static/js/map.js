/* Maps of Niger drawn from the portal's own GeoJSON boundaries (no tile server needed).
 *
 * Each <div class="js-map" data-config="ID"> reads its settings from the JSON script element ID:
 *   layer      URL of a FeatureCollection shaded by its `active` property (programmes per unit)
 *   drill      clicking a unit loads its children (children URL, with PCODE replaced) instead of navigating
 *   highlight  URL of a FeatureCollection drawn as outlines (a programme's places, the current unit)
 *   offices    URL of IOM offices as GeoJSON points
 *   tile_url   optional tile layer (settings.MAP_TILE_URL); the map works without it
 * Icon URLs come from data-* attributes rendered with {% static %}, so they survive hashed names.
 */
(function () {
  "use strict";

  var COLOURS = ["#eef3f8", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

  function colourFor(count, max) {
    if (!count) return COLOURS[0];
    var step = Math.ceil((count / Math.max(max, 1)) * (COLOURS.length - 1));
    return COLOURS[Math.min(Math.max(step, 1), COLOURS.length - 1)];
  }

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status + " for " + url);
      return r.json();
    });
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function setDefaultIcon(element) {
    if (!element.dataset.iconUrl) return;
    L.Icon.Default.mergeOptions({
      iconUrl: element.dataset.iconUrl,
      iconRetinaUrl: element.dataset.iconRetinaUrl,
      shadowUrl: element.dataset.shadowUrl,
    });
    // Leaflet prefixes icon URLs with an image path it guesses from its CSS; under hashed static
    // names that guess is wrong, so the full URLs come from {% static %} and the prefix is empty.
    L.Icon.Default.imagePath = "";
  }

  // The offices drawn as markers, as a list after the map: the text alternative keyboards and screen
  // readers use (the shaded regions have theirs in the table next to the map).
  function officeList(element, features) {
    var after = document.getElementById(element.id + "-after");
    if (!after || !features.length) return;
    var details = document.createElement("details");
    details.className = "small mt-1";
    var summary = document.createElement("summary");
    summary.textContent = (element.dataset.officesLabel || "") + " (" + features.length + ")";
    var list = document.createElement("ul");
    list.className = "mb-0";
    features.forEach(function (feature) {
      var p = feature.properties;
      var item = document.createElement("li");
      item.textContent = p.name + " — " + p.kind + " · " + p.commune;
      list.appendChild(item);
    });
    details.appendChild(summary);
    details.appendChild(list);
    after.appendChild(details);
  }

  function initMap(element) {
    var config = JSON.parse(document.getElementById(element.dataset.config).textContent);
    var labels = element.dataset;
    setDefaultIcon(element);
    var map = L.map(element, { attributionControl: true, zoomControl: false, zoomSnap: 0.25, scrollWheelZoom: false });
    // Leaflet's own control and popup texts are English: the page gives them in its language.
    L.control.zoom({ zoomInTitle: labels.zoomInLabel || "Zoom in", zoomOutTitle: labels.zoomOutLabel || "Zoom out" }).addTo(map);
    map.on("popupopen", function (event) {
      var close = event.popup.getElement() && event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close && labels.closeLabel) close.setAttribute("aria-label", labels.closeLabel);
    });
    map.setView([17.6, 8.1], 5);
    element.leafletMap = map;
    if (config.tile_url) {
      L.tileLayer(config.tile_url, { maxZoom: 12 }).addTo(map);
    }
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(escapeHtml(labels.attribution || ""));

    var shaded = null;
    var history = [];
    var back = L.control({ position: "topright" });
    back.onAdd = function () {
      var button = L.DomUtil.create("button", "btn btn-sm btn-light border map-back");
      button.type = "button";
      button.textContent = labels.backLabel || "Back";
      L.DomEvent.on(button, "click", function (event) {
        L.DomEvent.stop(event);
        history.pop();
        showLayer(history.length ? history[history.length - 1] : config.layer, false).then(focusFirstShape);
      });
      return button;
    };

    function tooltip(feature) {
      var p = feature.properties;
      var text = "<strong>" + escapeHtml(p.name) + "</strong>";
      if (p.active !== undefined) text += "<br>" + escapeHtml(labels.activeLabel || "") + " " + p.active;
      return text;
    }

    function open(feature, byKeyboard) {
      var p = feature.properties;
      if (config.drill && p.level < 2) {
        history.push(config.children.replace("PCODE", p.pcode));
        showLayer(history[history.length - 1], true).then(function () { if (byKeyboard) focusFirstShape(); });
      } else {
        window.location.href = p.url;
      }
    }

    function focusFirstShape() {
      var first = element.querySelector("path[tabindex='0']");
      if (first) first.focus({ preventScroll: true });
    }

    function showLayer(url, push) {
      return fetchJson(url).then(function (data) {
        var max = 0;
        data.features.forEach(function (f) { max = Math.max(max, f.properties.active || 0); });
        if (shaded) map.removeLayer(shaded);
        shaded = L.geoJSON(data, {
          style: function (feature) {
            return { color: "#0033a0", weight: 1, fillOpacity: 0.75, fillColor: colourFor(feature.properties.active, max) };
          },
          onEachFeature: function (feature, layer) {
            layer.bindTooltip(tooltip(feature), { sticky: true });
            layer.on("click", function () { open(feature); });
          },
        }).addTo(map);
        // Each shape is a Tab stop: a button named "Agadez, active programmes: 4"; Enter or Space
        // does what a click does.
        shaded.eachLayer(function (layer) {
          var el = layer.getElement && layer.getElement();
          if (!el) return;
          var p = layer.feature.properties;
          el.setAttribute("tabindex", "0");
          el.setAttribute("role", config.drill && p.level < 2 ? "button" : "link");
          el.setAttribute("aria-label", p.name + (p.active !== undefined ? ", " + (labels.activeLabel || "") + " " + p.active : ""));
          el.addEventListener("keydown", function (event) {
            if (event.key === "Enter" || event.key === " ") {
              event.preventDefault();
              open(layer.feature, true);
            }
          });
        });
        shaded.bringToBack();
        element.dataset.features = String(data.features.length);
        if (data.features.length) map.fitBounds(shaded.getBounds(), { padding: [8, 8] });
        if (history.length) back.addTo(map); else back.remove();
        if (push !== undefined) element.dispatchEvent(new CustomEvent("map:layer", { detail: data }));
      });
    }

    // Layers are fetched one after the other: each request also saves the session, and parallel
    // saves of one session only contend with each other.
    var steps = [];
    if (config.layer) steps.push(function () { return showLayer(config.layer); });
    if (config.highlight) {
      steps.push(function () { return fetchJson(config.highlight).then(function (data) {
        var outline = L.geoJSON(data, {
          style: { color: "#d9480f", weight: 2.5, fillColor: "#ffb81c", fillOpacity: config.layer ? 0.1 : 0.45 },
          interactive: !config.layer,
          onEachFeature: function (feature, layer) {
            if (!config.layer) layer.bindTooltip(tooltip(feature), { sticky: true });
          },
        }).addTo(map);
        // Outlines only show where a programme works (listed in the page's text): not Tab stops.
        outline.eachLayer(function (layer) {
          var el = layer.getElement && layer.getElement();
          if (el) { el.setAttribute("tabindex", "-1"); el.setAttribute("aria-hidden", "true"); }
        });
        if (!config.layer && data.features.length) map.fitBounds(outline.getBounds(), { padding: [8, 8], maxZoom: 9 });
        element.dataset.highlighted = String(data.features.length);
      }); });
    }
    if (config.offices) {
      steps.push(function () { return fetchJson(config.offices).then(function (data) {
        L.geoJSON(data, {
          pointToLayer: function (feature, latlng) {
            // Not Tab stops: the offices are listed after the map (officeList), where keyboards reach them.
            return L.marker(latlng, { title: feature.properties.name, alt: feature.properties.name, keyboard: false });
          },
          onEachFeature: function (feature, layer) {
            var p = feature.properties;
            layer.bindPopup("<strong>" + escapeHtml(p.name) + "</strong><br>" + escapeHtml(p.kind) + " · " + escapeHtml(p.commune));
          },
        }).addTo(map);
        officeList(element, data.features);
      }); });
    }
    var loading = steps.reduce(function (chain, step) { return chain.then(step); }, Promise.resolve());
    loading.then(
      function () { element.dataset.ready = "true"; },
      function (error) {
        element.dataset.ready = "error";
        var note = document.createElement("p");
        note.className = "small text-danger";
        note.textContent = labels.errorLabel || "The map could not be loaded.";
        element.after(note);
        if (window.console) console.warn(error);
      }
    );
  }

  function start() {
    if (typeof L === "undefined") return;
    document.querySelectorAll(".js-map").forEach(initMap);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
